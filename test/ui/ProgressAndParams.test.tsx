import React from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { App } from '../../src/ui/App.js';
import { testRegistry } from '../runbook/helpers.js';
import { backup, exitCatcher, gate, inputReady, KEY, ready, renderScreen, testServices, withProgressAction } from './helpers.js';
import { paramsYaml, progressYaml } from './runbooks.js';

afterEach(() => cleanup());

describe('progress', () => {
  it('shows a bar with bytes, rate and ETA, the output tail, and the RTO clock', async () => {
    const open = gate();
    const run = testServices({ runbooks: { p: progressYaml }, registry: (world) => withProgressAction(testRegistry(world), open) });
    const exit = exitCatcher();
    const screen = renderScreen(<App services={run.services} initial={{ name: 'run', options: { runbook: 'p' } }} onExit={exit.onExit} />);
    const frame = await screen.waitFor((f) => f.includes(' 50%') && f.includes('processing data'));
    expect(frame).toMatch(/█+░+ +50% +100\.0 MiB \/ 200\.0 MiB +[\d.]+ (KiB|MiB|GiB)\/s +ETA \d+:\d\d/);
    expect(frame).toContain('> pg_restore: processing data for table "public.orders"');
    expect(frame).toMatch(/RTO clock 0:0\d \/ target 1h/);
    // The bar shows the work moving: the running step's mark stands still (no spinner frames).
    expect(frame).toMatch(/● +restore +Restore the data/);
    // Not a drill: the explanation waits for "?".
    expect(frame).not.toContain('Streams the dump into pg_restore.');
    await screen.press('?');
    await screen.waitFor('Streams the dump into pg_restore.');
    await screen.press('?');
    await screen.waitFor((f) => !f.includes('Streams the dump'));
    open.open();
    await screen.waitFor('exit code 0');
    await screen.press('q');
    expect(await exit.code).toBe(0);
  });

  it('aborting during a running action explains that the step is cancelled, and its rollback runs', async () => {
    const open = gate();
    const run = testServices({ runbooks: { p: progressYaml }, registry: (world) => withProgressAction(testRegistry(world), open) });
    const exit = exitCatcher();
    const screen = renderScreen(<App services={run.services} initial={{ name: 'run', options: { runbook: 'p' } }} onExit={exit.onExit} />);
    await ready(screen, ' 50%');
    await screen.press('q');
    const dialog = await screen.waitFor('Abort the run?');
    expect(dialog).toContain('The running step "Restore the data" is cancelled now');
    await screen.press('y');
    const summary = await screen.waitFor('exit code 1');
    expect(summary).toContain('✗ Run aborted at step restore');
    expect(summary).toMatch(/✓ +clean-up +Clean up the half-restored copy/);
    expect(run.world.calls.cleanup).toBe(1);
    await screen.press(KEY.enter);
    expect(await exit.code).toBe(1);
  });
});

describe('params', () => {
  const backups = [
    backup('20261124T020000Z-daily', false, '2026-11-24T02:05:00Z'),
    backup('20261123T020000Z-daily', true, '2026-11-23T02:05:00Z'),
    backup('20261122T020000Z-daily', true, '2026-11-22T02:05:00Z'),
  ];

  it('a timestamp is validated as it is typed and read back in UTC and the configured zone; backup and choice have their defaults preselected', async () => {
    const run = testServices({ runbooks: { p: paramsYaml }, overrides: { listBackups: async () => ({ backups, problems: [] }) } });
    const exit = exitCatcher();
    const screen = renderScreen(<App services={run.services} initial={{ name: 'run', options: { runbook: 'p' } }} onExit={exit.onExit} />);
    await ready(screen, 'target_time: the moment to recover to');
    // Prefilled with the current minute in UTC: valid as it stands.
    expect(screen.frame()).toMatch(/= \d{4}-\d\d-\d\d \d\d:\d\d:00 UTC \(.* Europe\/Berlin\)/);
    // Clear the field and type a time without an offset: refused while typing.
    await screen.press('\u0015');
    await screen.press(...'2026-11-24T21:30:00'.split(''));
    await screen.waitFor('no UTC offset');
    await screen.press(KEY.enter);
    await screen.waitFor('Not accepted: no UTC offset');
    await screen.press(...'+01:00'.split(''));
    const valid = await screen.waitFor('= 2026-11-24 20:30:00 UTC (2026-11-24 21:30:00 Europe/Berlin)');
    expect(valid).not.toContain('Not accepted');
    await screen.press(KEY.enter);
    // The backup list: latest-verified first (naming the backup it means), verified before unverified.
    const list = await screen.waitFor('latest-verified (20261123T020000Z-daily)');
    const order = ['latest-verified (', '20261123T020000Z-daily  logical', '20261122T020000Z-daily  logical', '20261124T020000Z-daily  logical'].map((text) => list.indexOf(text));
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(list).toContain('NOT verified');
    expect(list).toMatch(/❯ latest-verified/);
    await inputReady();
    await screen.press(KEY.down);
    await screen.waitFor(/❯ 20261123T020000Z-daily/);
    await inputReady();
    await screen.press(KEY.down);
    await screen.waitFor(/❯ 20261122T020000Z-daily/);
    await inputReady();
    await screen.press(KEY.enter);
    // The choice: the first is preselected; arrows move.
    await ready(screen, '❯ swap');
    await screen.press(KEY.down);
    await screen.waitFor('❯ into');
    await screen.press(KEY.enter);
    const summary = await screen.waitFor('exit code 0');
    expect(summary).toContain('Show into 20261122T020000Z-daily 2026-11-24T20:30:00.000Z');
  });

  it('in a text field q, c and ? are letters (no abort dialog, no panel), even typed faster than the screen redraws', async () => {
    const run = testServices({ runbooks: { p: paramsYaml } });
    const screen = renderScreen(<App services={run.services} initial={{ name: 'run', options: { runbook: 'p' } }} onExit={() => undefined} />);
    await ready(screen, 'target_time');
    // No pause between keys: each must build on the text so far, not on the last frame.
    for (const key of ['\u0015', 'q', 'c', '?']) screen.stdin.write(key);
    const frame = await screen.waitFor('❯ qc?');
    expect(frame).not.toContain('Abort the run?');
    expect(frame).not.toContain('Emergency contacts');
    expect(frame).toContain('not ISO 8601');
  });
});
