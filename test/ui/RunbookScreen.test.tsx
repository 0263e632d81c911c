import React from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { App } from '../../src/ui/App.js';
import { prodTarget } from '../runbook/helpers.js';
import { exitCatcher, KEY, ready, renderScreen, testServices } from './helpers.js';
import { drillYaml, flakyYaml, recoveryYaml } from './runbooks.js';

afterEach(() => cleanup());

function start(runbook: string, yaml: string, options: Parameters<typeof testServices>[0] = {}) {
  const run = testServices({ runbooks: { [runbook]: yaml }, ...options });
  const exit = exitCatcher();
  const screen = renderScreen(<App services={run.services} initial={{ name: 'run', options: { runbook } }} onExit={exit.onExit} />);
  return { ...run, screen, exit };
}

describe('runbook screen', () => {
  it('the drill on the sandbox completes with Enter alone and exits with the run exit code', async () => {
    const { screen, exit, world } = start('ui-drill', drillYaml);
    world.flags.up = true;
    await ready(screen, 'Run "Copy the bytes"?');
    // Training mode (a drill): the explain text is on screen without asking.
    expect(screen.frame()).toContain('Copying moves the backup into place.');
    expect(screen.frame()).toMatch(/✓ +prepare +Prepare the scratch space/);
    expect(screen.frame()).toContain(' SANDBOX  the sandbox');
    expect(screen.frame()).toMatch(/RTO clock \d+:\d\d \/ target 15m/);
    expect(screen.frame()).toContain('❯ Yes, run it');
    await screen.press(KEY.enter);
    await screen.waitFor('Type lifeline_demo to confirm');
    // Against the sandbox the phrase is filled in.
    expect(screen.frame()).toContain('❯ lifeline_demo');
    await screen.press(KEY.enter);
    await screen.waitFor('Your turn: do this');
    expect(screen.frame()).toContain('Look at a table or two');
    await screen.press(KEY.enter);
    const summary = await screen.waitFor('Press enter or q to exit (exit code 0)');
    expect(summary).toContain('✓ Run succeeded');
    expect(summary).not.toContain('MISSED');
    await screen.waitFor('audit trail:');
    expect(world.calls).toMatchObject({ prepare: 1, copy: 1, drop: 1 });
    await screen.press(KEY.enter);
    expect(await exit.code).toBe(0);
  });

  it('a typed confirmation against a real target starts empty, says "Value must be exactly X", and Escape cancels', async () => {
    const { screen, exit, world } = start('ui-recovery', recoveryYaml, { target: prodTarget });
    await ready(screen, 'DESTRUCTIVE STEP against a real target');
    expect(screen.frame()).toContain('Type shop to confirm');
    expect(screen.frame()).not.toContain('❯ shop');
    expect(screen.frame()).toContain(' TARGET  postgresql://app@db1/shop');
    // Enter on the empty field is a mismatch, recorded by the Runner, which asks again.
    await screen.press('S', 'h', 'o', 'p', KEY.enter);
    await screen.waitFor('Value must be exactly shop');
    expect(world.calls.swap).toBeUndefined();
    await screen.press(KEY.escape);
    await screen.waitFor('Cancelled: nothing was done. What now?');
    expect(screen.frame()).toContain('❯ Go back and type it');
    await screen.press('a');
    const summary = await screen.waitFor('Press enter or q to exit (exit code 1)');
    expect(summary).toContain('✗ Run aborted at step swap');
    // The completed step's rollback ran and is shown.
    expect(summary).toContain('Rolling back');
    expect(summary).toMatch(/✓ +undo-prepare/);
    expect(summary).toContain('Dana Oncall');
    expect(world.calls).toMatchObject({ prepare: 1, undo: 1 });
    await screen.press('q');
    expect(await exit.code).toBe(1);
  });

  it('the exact database name runs the destructive step', async () => {
    const { screen, exit, world } = start('ui-recovery', recoveryYaml, { target: prodTarget });
    await ready(screen, 'Type shop to confirm');
    await screen.press('s', 'h', 'o', 'p', KEY.enter);
    await screen.waitFor('exit code 0');
    expect(world.calls.swap).toBe(1);
    await screen.press(KEY.enter);
    expect(await exit.code).toBe(0);
  });

  it('a failed step offers retry (preselected), skip with a reason, abort, and shows the contacts', async () => {
    const { screen, world } = start('ui-flaky', flakyYaml);
    world.failuresLeft.migrate = 1;
    await ready(screen, 'The step failed');
    const frame = screen.frame();
    expect(frame).toContain('migrate failed on purpose');
    expect(frame).toContain('❯ Retry the step');
    expect(frame).toContain('Emergency contacts');
    expect(frame).toContain('Dana Oncall (DBA)  +1 555 0100');
    // A routine runbook has no recovery to time: the clock is just "elapsed".
    expect(frame).toMatch(/elapsed \d+:\d\d/);
    expect(frame).not.toContain('RTO clock');
    expect(frame).toContain('Config Contact');
    await screen.press(KEY.enter);
    await screen.waitFor('✓ Run succeeded');
    expect(screen.frame()).toContain('(2 attempts)');
    expect(world.calls.migrate).toBe(2);
  });

  it('skipping asks for a reason, refuses an empty one, and the run ends with exit 3', async () => {
    const { screen, exit, world } = start('ui-flaky', flakyYaml);
    world.failuresLeft.migrate = 5;
    await ready(screen, 'The step failed');
    await screen.press('s');
    await screen.waitFor('Why skip step "migrate"?');
    await screen.press(KEY.enter);
    await screen.waitFor('A reason is needed to skip.');
    // "q" and "c" are letters in a text field, not keys.
    await screen.press(...'quota exceeded, ticket 42'.split(''), KEY.enter);
    const summary = await screen.waitFor('exit code 3');
    expect(summary).toContain('↷ Run finished with skipped steps');
    expect(summary).toContain('↷ skipped migrate (step): quota exceeded, ticket 42');
    await screen.press(KEY.enter);
    expect(await exit.code).toBe(3);
  });

  it('live checks update in place: a failed pre-check is re-run with Enter (retry preselected) and then passes', async () => {
    const { screen, world } = start('ui-drill', drillYaml);
    world.flags.up = false;
    await ready(screen, 'A pre-check failed');
    expect(screen.frame()).toContain('✗ pre-check flag up: up is down');
    expect(screen.frame()).toContain('❯ Run the checks again');
    world.flags.up = true;
    await screen.press(KEY.enter);
    const frame = await screen.waitFor('Run "Copy the bytes"?');
    expect(frame).not.toContain('up is down');
    expect(world.calls['check:up']).toBe(2);
  });

  it('q asks before aborting and explains what aborting does; keep going is preselected', async () => {
    const { screen, world } = start('ui-drill', drillYaml);
    world.flags.up = true;
    await ready(screen, 'Run "Copy the bytes"?');
    await screen.press('q');
    const dialog = await screen.waitFor('Abort the run?');
    expect(dialog).toContain('Nothing is executing: step "Copy the bytes" waits for your answer and will not run.');
    expect(dialog).toContain('Completed steps that declare a rollback are undone');
    expect(dialog).toContain('ends "aborted" (exit 1)');
    expect(dialog).toContain('❯ Keep going');
    // The prompt underneath does not react while the dialog is open.
    await screen.press(KEY.escape);
    await screen.waitFor((f) => !f.includes('Abort the run?'));
    expect(screen.frame()).toContain('❯ Yes, run it');
    // (Ctrl-C reaches the same binding in a terminal; ink-testing-library's Ink exits on it.)
    await screen.press('q');
    await screen.waitFor('Abort the run?');
    await screen.press(KEY.right, KEY.enter);
    const summary = await screen.waitFor('exit code 1');
    expect(summary).toContain('✗ Run aborted');
    expect(world.calls.copy).toBeUndefined();
  });

  it('? explains the current step and lists the keys; c shows the contacts; Escape closes them', async () => {
    const { screen } = start('ui-recovery', recoveryYaml, { target: prodTarget });
    await ready(screen, 'Type shop to confirm');
    // Not a drill: the explanation waits for "?"... but "?" typed in a text field is a letter,
    // so leave the field first.
    expect(screen.frame()).toContain('? explains this step');
    expect(screen.frame()).not.toContain('renames the databases');
    await screen.press(KEY.escape);
    await screen.waitFor('What now?');
    await screen.press('?');
    const help = await screen.waitFor('Keys');
    expect(help).toContain('The swap renames the databases in one short step.');
    expect(help).toContain('q / ctrl-c');
    await screen.press(KEY.escape);
    await screen.waitFor((f) => !f.includes('Keys'));
    await screen.press('c');
    const contacts = await screen.waitFor('c or esc to close');
    expect(contacts).toContain('Dana Oncall');
    await screen.press('c');
    await screen.waitFor((f) => !f.includes('c or esc to close'));
  });
});
