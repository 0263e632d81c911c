import React from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { App } from '../../src/ui/App.js';
import type { AuditRunSummary } from '../../src/audit/list.js';
import { backup, exitCatcher, gate, inputReady, KEY, ready, renderScreen, testServices } from './helpers.js';
import { drillYaml, flakyYaml, recoveryYaml } from './runbooks.js';

afterEach(() => cleanup());

const now = Date.now();
const iso = (msAgo: number) => new Date(now - msAgo).toISOString();

const backups = [backup('20261124T020000Z-daily', true, iso(3 * 3_600_000), 12 * 1024 * 1024), backup('20261123T020000Z-daily', false, iso(27 * 3_600_000))];
const runs: AuditRunSummary[] = [
  { id: '20261120T100000Z-drill-ab12', runbook: 'drill', file: '/x.jsonl', startedAt: iso(4 * 86_400_000), finishedAt: iso(4 * 86_400_000), outcome: 'succeeded', operator: 'alice', dryRun: false },
];

function home(overrides: Parameters<typeof testServices>[0]['overrides'] = {}) {
  const run = testServices({
    runbooks: { 'full-recovery': recoveryYaml, drill: drillYaml, 'zz-custom': flakyYaml },
    overrides: {
      health: async () => ({
        lastBackup: { id: backups[0].id, finishedAt: backups[0].finishedAt, sizeBytes: backups[0].sizeBytes, verifiedLevel: 'archive' },
        lastVerification: { backupId: backups[0].id, finishedAt: backups[0].finishedAt, ok: true, level: 'archive' },
        lastDrill: { id: runs[0].id, startedAt: runs[0].startedAt, outcome: 'succeeded' },
        warnings: ['The newest backup is more than a day old.'],
      }),
      listBackups: async () => ({ backups, problems: [] }),
      auditRuns: async () => runs,
      auditReport: async (id) => ({ markdown: `# Drill report ${id}\n${Array.from({ length: 60 }, (_, i) => `line ${i + 1}`).join('\n')}\n`, intact: true }),
      status: async () => ({ level: 'warning', lines: [{ level: 'ok', text: 'last backup 3h ago' }, { level: 'warning', text: 'no base backup: no point-in-time recovery' }] }),
      ...overrides,
    },
  });
  const exit = exitCatcher();
  const screen = renderScreen(<App services={run.services} initial={{ name: 'home' }} onExit={exit.onExit} />);
  return { ...run, screen, exit };
}

describe('home screen', () => {
  it('shows the target (the sandbox marked), the repository, the health line, and the runbooks by title first', async () => {
    const { screen } = home();
    const frame = await ready(screen, (f) => f.includes('UI recovery') && f.includes('last drill'));
    expect(frame).toContain(' SANDBOX  the sandbox  (a local practice cluster: nothing real is touched)');
    expect(frame).toContain('repository /tmp/repo  operator alice');
    expect(frame).toMatch(/last backup 3h ago \(20261124T020000Z-daily, 12\.0 MiB, verified: archive\)/);
    expect(frame).toMatch(/last drill 4d ago succeeded/);
    expect(frame).toContain('⚠ The newest backup is more than a day old.');
    // Shipped runbooks in the order people under stress look for them, then the menu entries.
    const order = ['❯ UI recovery', 'UI drill', 'UI flaky', 'Backups:', 'Status:', 'Audit logs:', 'Quit'].map((text) => frame.indexOf(text));
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('lists the runbooks in its first frame from their files, before they are checked, and in the order they keep', async () => {
    const checked = gate();
    const { screen } = home({
      quickRunbooks: () => [
        { id: 'drill', title: 'Drill (from the file)', source: 'shipped' },
        { id: 'full-recovery', title: 'Recovery (from the file)', source: 'shipped' },
        { id: 'zz-custom', title: 'zz-custom', source: 'user' },
      ],
      loadRunbooks: async () => {
        await checked.wait;
        return [
          { id: 'full-recovery', title: 'UI recovery', source: 'shipped' },
          { id: 'drill', title: 'UI drill', source: 'shipped' },
          { id: 'zz-custom', title: 'UI flaky', source: 'user', problem: '3:1 steps: Required' },
        ];
      },
    });
    // Places in the menu, counted from its heading (the health lines above it fill in meanwhile).
    const lines = (frame: string, texts: string[]) => {
      const all = frame.split('\n');
      const heading = all.findIndex((line) => line.includes('What do you need?'));
      return texts.map((text) => all.findIndex((line) => line.includes(text)) - heading);
    };
    const first = await ready(screen, 'Drill (from the file)');
    expect(first).not.toContain('reading the runbooks');
    const before = lines(first, ['Recovery (from the file)', 'Drill (from the file)', 'zz-custom', 'Backups:']);
    expect([...before].sort((a, b) => a - b)).toEqual(before);
    checked.open();
    const after = await ready(screen, (f) => f.includes('UI flaky  (invalid'));
    expect(lines(after, ['UI recovery', 'UI drill', 'UI flaky', 'Backups:'])).toEqual(before);
  });

  it('a number key opens a runbook at once, and the summary can lead back home', async () => {
    const { screen, world } = home();
    world.flags.up = true;
    await ready(screen, 'UI drill');
    await screen.press('2');
    await ready(screen, 'Run "Copy the bytes"?');
    await screen.press(KEY.enter);
    await ready(screen, 'Type lifeline_demo');
    await screen.press(KEY.enter);
    await ready(screen, 'Your turn');
    await screen.press(KEY.enter);
    await ready(screen, (f) => f.includes('exit code 0') && f.includes('audit trail:'));
    expect(screen.frame()).toContain('b back to home');
    await screen.press('b');
    await screen.waitFor('What do you need?');
  });

  it('? shows the keys, c the contacts, q quits with 0', async () => {
    const { screen, exit } = home();
    await ready(screen, 'UI drill');
    await screen.press('?');
    await screen.waitFor('open an entry by its number');
    await screen.press(KEY.escape);
    await screen.waitFor((f) => !f.includes('open an entry by its number'));
    await screen.press('c');
    await screen.waitFor('Config Contact');
    await screen.press('c');
    await screen.waitFor((f) => !f.includes('Config Contact'));
    await inputReady();
    await screen.press('q');
    expect(await exit.code).toBe(0);
  });

  it('an invalid runbook is listed but not started', async () => {
    const { screen } = home({
      loadRunbooks: async () => [{ id: 'broken', title: 'broken', source: 'user', problem: '3:5 steps: a step needs one of `action`, `manual` or `checks`' }],
    });
    await ready(screen, 'broken  (invalid');
    await screen.press(KEY.enter);
    await screen.waitFor('broken: 3:5 steps: a step needs one of');
    expect(screen.frame()).toContain('What do you need?');
  });
});

describe('backups, status and audit screens', () => {
  it('backups: newest first with verification state; enter opens details and the verification history', async () => {
    const { screen } = home();
    await ready(screen, 'UI drill');
    await screen.press('4');
    const list = await ready(screen, '20261123T020000Z-daily');
    expect(list.indexOf('20261124T020000Z-daily')).toBeLessThan(list.indexOf('20261123T020000Z-daily'));
    expect(list).toMatch(/20261124T020000Z-daily +logical +3h ago +12\.0 MiB +✓ archive/);
    expect(list).toMatch(/20261123T020000Z-daily .*✗ no/);
    expect(list).toContain('latest-verified is 20261124T020000Z-daily');
    await screen.press(KEY.enter);
    const details = await screen.waitFor('Verification history');
    expect(details).toContain('kind          logical (daily)');
    expect(details).toContain('verified      yes, up to archive');
    expect(details).toMatch(/✓ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(.*Europe\/Berlin\) archive/);
    await screen.press(KEY.escape);
    await ready(screen, 'latest-verified is');
    await screen.press(KEY.escape);
    await screen.waitFor('What do you need?');
  });

  it('status: the overall level and each line with its mark', async () => {
    const { screen } = home();
    await ready(screen, 'UI drill');
    await screen.press('5');
    const frame = await screen.waitFor('overall: warning');
    expect(frame).toContain('✓ last backup 3h ago');
    expect(frame).toContain('⚠ no base backup: no point-in-time recovery');
  });

  it('audit: runs newest first; enter opens the report, which scrolls', async () => {
    const { screen } = home();
    await ready(screen, 'UI drill');
    await screen.press('6');
    const list = await ready(screen, '20261120T100000Z-drill-ab12');
    expect(list).toMatch(/succeeded +alice +4d ago/);
    await screen.press(KEY.enter);
    const report = await ready(screen, '# Drill report 20261120T100000Z-drill-ab12');
    expect(report).toContain('✓ audit chain intact');
    expect(report).toMatch(/lines 1-\d+ of 61/);
    await screen.press(KEY.pageDown);
    await screen.waitFor((f) => !f.includes('# Drill report') && f.includes('line 40'));
    await screen.press(KEY.escape);
    await screen.waitFor('enter open the report');
  });

  it('redraws to the new width when the terminal is resized', async () => {
    const { screen } = home();
    await ready(screen, 'UI drill');
    Object.defineProperty(screen.stdout, 'columns', { get: () => 60, configurable: true });
    screen.stdout.emit('resize');
    await screen.waitFor((f) => f.split('\n').every((line) => line.length <= 60) && f.includes('UI drill'));
  });
});
