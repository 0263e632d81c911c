import type { Command } from 'commander';
import type { Run } from '../main.js';

/** Every command, one file each. Keep imports here light: heavy modules load inside actions. */
export function registerCommands(program: Command, run: Run): void {
  void run;
  program.action(() => {
    program.outputHelp();
  });
}
