import type { Command } from 'commander';
import type { Run } from '../main.js';
import { registerBackup } from './backup.js';
import { registerConfig } from './config.js';
import { registerList } from './list.js';

/** Every command, one file each. Keep imports here light: heavy modules load inside actions. */
export function registerCommands(program: Command, run: Run): void {
  registerBackup(program, run);
  registerList(program, run);
  registerConfig(program, run);
  program.action(() => {
    program.outputHelp();
  });
}
