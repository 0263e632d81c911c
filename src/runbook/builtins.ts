import { shellAction } from './actions/shell.js';
import { sqlAssertAction } from './actions/sql-assert.js';
import { waitAction } from './actions/wait.js';
import { databaseReachableCheck } from './checks/database-reachable.js';
import { sqlAssertCheck } from './checks/sql-assert.js';
import { Registry } from './registry.js';

/**
 * The actions and checks that need no engine. The engine-backed ones (backup, verify, restore,
 * pitr.restore, maintenance.*, sandbox.*, wal.check, ...) are added beside them by their own modules.
 */
export function createBuiltinRegistry(): Registry {
  return new Registry()
    .addAction(waitAction)
    .addAction(shellAction)
    .addAction(sqlAssertAction)
    .addCheck(databaseReachableCheck)
    .addCheck(sqlAssertCheck);
}
