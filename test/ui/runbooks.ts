/** Small runbooks for the screens, run by a real Runner with the test registry's actions. */
export const drillYaml = `id: ui-drill
title: UI drill
kind: drill
targets: { rto: 15m, rpo: 1d }
measure: { recovered: drop }
contacts:
  - { name: Dana Oncall, role: DBA, phone: "+1 555 0100" }
steps:
  - id: prepare
    title: Prepare the scratch space
    explain: We prepare first so that nothing real is touched.
    action: count
    with: { key: prepare }
    checks:
      pre:
        - { check: flag, with: { name: up } }
  - id: copy
    title: Copy the bytes
    explain: Copying moves the backup into place.
    action: count
    with: { key: copy }
    confirm: { type: yes-no }
  - id: drop
    title: Drop the old database
    action: count
    with: { key: drop }
    confirm: { type: typed }
  - id: look
    title: Look at the data
    manual: Look at a table or two, then mark this step done.
`;

export const recoveryYaml = `id: ui-recovery
title: UI recovery
kind: recovery
contacts:
  - { name: Dana Oncall, role: DBA, phone: "+1 555 0100" }
steps:
  - id: prepare
    title: Prepare
    action: count
    with: { key: prepare }
    on_failure:
      rollback:
        - { id: undo-prepare, title: Undo the preparation, action: count, with: { key: undo } }
  - id: swap
    title: Swap the databases
    explain: The swap renames the databases in one short step.
    action: count
    with: { key: swap }
    confirm: { type: typed }
`;

export const flakyYaml = `id: ui-flaky
title: UI flaky
contacts:
  - { name: Dana Oncall, role: DBA, phone: "+1 555 0100" }
steps:
  - id: migrate
    title: Migrate
    action: flaky
    with: { key: migrate }
`;

export const progressYaml = `id: ui-progress
title: UI progress
kind: recovery
targets: { rto: 1h }
steps:
  - id: restore
    title: Restore the data
    explain: Streams the dump into pg_restore.
    action: copy-bytes
    on_failure:
      rollback:
        - { id: clean-up, title: Clean up the half-restored copy, action: count, with: { key: cleanup } }
`;

export const paramsYaml = `id: ui-params
title: UI params
params:
  target_time:
    type: timestamp
    description: the moment to recover to
  backup:
    type: backup
    description: the backup to restore
  mode:
    type: choice
    choices: [swap, into, in-place]
steps:
  - id: show
    title: Show {{params.mode}} {{params.backup}} {{params.target_time}}
    action: count
`;
