import type { Command } from 'commander';
import type { Run } from '../main.js';
import { registerBackup } from './backup.js';
import { registerConfig } from './config.js';
import { registerList } from './list.js';
import { registerAgent } from './agent.js';
import { registerPrune } from './prune.js';
import { registerStatus } from './status.js';
import { registerMaintenance } from './maintenance.js';
import { registerRestore } from './restore.js';
import { registerVerify } from './verify.js';
import { registerVerifyData } from './verify-data.js';
import { registerSandbox } from './sandbox.js';
import { registerRun } from './run.js';
import { registerRunbooks } from './runbooks.js';
import { registerAudit } from './audit.js';
import { registerWal } from './wal.js';
import { registerArchiving } from './archiving.js';
import { registerPitr } from './pitr.js';
import { registerCopy } from './copy.js';
import { registerKeygen } from './keygen.js';
import { registerCat } from './cat.js';

/** Every command, one file each. Keep imports here light: heavy modules load inside actions. */
export function registerCommands(program: Command, run: Run): void {
  registerBackup(program, run);
  registerList(program, run);
  registerPrune(program, run);
  registerStatus(program, run);
  registerAgent(program, run);
  registerVerify(program, run);
  registerVerifyData(program, run);
  registerRestore(program, run);
  registerMaintenance(program, run);
  registerConfig(program, run);
  registerSandbox(program, run);
  registerRun(program, run);
  registerRunbooks(program, run);
  registerAudit(program, run);
  registerWal(program, run);
  registerArchiving(program, run);
  registerPitr(program, run);
  registerCopy(program, run);
  registerKeygen(program, run);
  registerCat(program, run);
  program.action(() => {
    program.outputHelp();
  });
}
