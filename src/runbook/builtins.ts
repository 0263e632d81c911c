import { backupAction } from './actions/backup.js';
import { instanceRecordAction } from './actions/instance-record.js';
import { maintenanceOffAction, maintenanceOnAction } from './actions/maintenance.js';
import { pitrRestoreAction, walCheckAction } from './actions/pitr.js';
import { restoreAction } from './actions/restore.js';
import { sandboxCreateAction, sandboxDestroyAction } from './actions/sandbox.js';
import { shellAction } from './actions/shell.js';
import { sqlAssertAction } from './actions/sql-assert.js';
import { verifyAction } from './actions/verify.js';
import { waitAction } from './actions/wait.js';
import { backupExistsCheck, backupVerifiedCheck } from './checks/backup.js';
import { dataMatchesBackupCheck } from './checks/data-matches.js';
import { databaseReachableCheck } from './checks/database-reachable.js';
import { diskFreeCheck } from './checks/disk-free.js';
import { maintenanceStateCheck } from './checks/maintenance-state.js';
import { archivingHealthyCheck, windowCoversCheck } from './checks/pitr.js';
import { rolePrivilegesCheck } from './checks/role-privileges.js';
import { sqlAssertCheck } from './checks/sql-assert.js';
import { Registry } from './registry.js';

/**
 * Every action and check a runbook may name. Each module keeps its engine import lazy, so
 * building the registry (to load or validate a runbook) stays cheap.
 */
export function createBuiltinRegistry(): Registry {
  return new Registry()
    .addAction(waitAction)
    .addAction(shellAction)
    .addAction(sqlAssertAction)
    .addAction(backupAction)
    .addAction(verifyAction)
    .addAction(restoreAction)
    .addAction(maintenanceOnAction)
    .addAction(maintenanceOffAction)
    .addAction(sandboxCreateAction)
    .addAction(sandboxDestroyAction)
    .addAction(pitrRestoreAction)
    .addAction(walCheckAction)
    .addAction(instanceRecordAction)
    .addCheck(databaseReachableCheck)
    .addCheck(sqlAssertCheck)
    .addCheck(rolePrivilegesCheck)
    .addCheck(diskFreeCheck)
    .addCheck(backupExistsCheck)
    .addCheck(backupVerifiedCheck)
    .addCheck(maintenanceStateCheck)
    .addCheck(dataMatchesBackupCheck)
    .addCheck(windowCoversCheck)
    .addCheck(archivingHealthyCheck);
}
