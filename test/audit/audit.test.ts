import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listAuditRuns } from '../../src/audit/list.js';
import { renderReport } from '../../src/audit/report.js';
import { readAuditLines, verifyAuditFile } from '../../src/audit/verify.js';
import { unattendedAnswerer } from '../../src/runbook/answerers.js';
import { load, newWorld, runRunbook, scripted, tempDir, testRegistry } from '../runbook/helpers.js';

const registry = testRegistry(newWorld());

async function sampleRun(home = tempDir()) {
  const loaded = load(
    `id: sample
title: Sample
steps:
  - { id: a, title: A, action: count, with: { key: a } }
  - { id: b, title: B, action: shell, with: { command: [echo, "connecting to postgresql://app:hunter2@db1/shop"] } }
  - { id: c, title: C, manual: Tell the team, on_failure: { rollback: [] } }
`,
    registry,
  );
  return runRunbook({ loaded, registry, answer: scripted([{ type: 'yes' }]), home });
}

/** Rewrites an audit file line by line, as someone with a text editor would. */
function edit(file: string, change: (lines: string[]) => string[]): string {
  const copy = path.join(path.dirname(file), `edited-${path.basename(file)}`);
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  fs.writeFileSync(copy, `${change(lines).join('\n')}\n`);
  return copy;
}

describe('audit trail', () => {
  it('chains every line with sha256 and records who, where and when, never a password', async () => {
    const ran = await sampleRun();
    const text = fs.readFileSync(ran.auditFile, 'utf8');
    expect(text).not.toContain('hunter2');
    expect(text).toContain('postgresql://app:***@db1/shop');
    const lines = readAuditLines(ran.auditFile);
    expect(lines[0]).toMatchObject({ seq: 1, prev: '0'.repeat(64), runId: ran.runId, operator: 'alice', host: 'testhost', runbook: 'sample', step: null, kind: 'run-started' });
    expect(lines[1].prev).toBe(lines[0].hash);
    expect(fs.statSync(ran.auditFile).mode & 0o777).toBe(0o600);
    expect(verifyAuditFile(ran.auditFile)).toMatchObject({ ok: true, complete: true, lines: lines.length, lastHash: lines[lines.length - 1].hash });
  });

  it('verify names the first edited line', async () => {
    const ran = await sampleRun();
    const target = fs.readFileSync(ran.auditFile, 'utf8').split('\n').findIndex((line) => line.includes('"outcome":"ok"'));
    const edited = edit(ran.auditFile, (lines) => lines.map((line, i) => (i === target ? line.replace('"outcome":"ok"', '"outcome":"skipped"') : line)));
    expect(target).toBeGreaterThan(0);
    expect(verifyAuditFile(edited)).toMatchObject({ ok: false, firstBad: { line: target + 1, reason: 'its content does not match its hash (edited)' } });
  });

  it('verify names the line after a removed one, and a removed first line', async () => {
    const ran = await sampleRun();
    expect(verifyAuditFile(edit(ran.auditFile, (lines) => lines.filter((_, i) => i !== 3)))).toMatchObject({
      ok: false,
      firstBad: { line: 4, reason: 'it does not follow line 3 (a line was removed, inserted or reordered here)' },
    });
    expect(verifyAuditFile(edit(ran.auditFile, (lines) => lines.slice(1)))).toMatchObject({ ok: false, firstBad: { line: 1 } });
  });

  it('verify names the first of two swapped lines', async () => {
    const ran = await sampleRun();
    const swapped = edit(ran.auditFile, (lines) => [...lines.slice(0, 2), lines[3], lines[2], ...lines.slice(4)]);
    expect(verifyAuditFile(swapped)).toMatchObject({ ok: false, firstBad: { line: 3 } });
  });

  it('a file cut after its last complete line is intact but incomplete; a torn line is not intact', async () => {
    const ran = await sampleRun();
    expect(verifyAuditFile(edit(ran.auditFile, (lines) => lines.slice(0, -1)))).toMatchObject({ ok: true, complete: false });
    const torn = path.join(path.dirname(ran.auditFile), 'torn.jsonl');
    const text = fs.readFileSync(ran.auditFile, 'utf8');
    fs.writeFileSync(torn, text.slice(0, text.length - 20));
    expect(verifyAuditFile(torn).firstBad?.reason).toMatch(/cut short/);
  });

  it('lists runs newest first with their outcome', async () => {
    const home = tempDir();
    const first = await sampleRun(home);
    const loaded = load('id: other\ntitle: Other\nsteps:\n  - { id: a, title: A, action: count, confirm: { type: yes-no } }\n', registry);
    const second = await runRunbook({ loaded, registry, answer: unattendedAnswerer({ yes: false }), home, clock: () => Date.now() + 60_000 });
    const runs = listAuditRuns(first.auditDir);
    expect(runs.map((r) => [r.id, r.runbook, r.outcome, r.operator])).toEqual([
      [second.runId, 'other', 'input-needed', 'alice'],
      [first.runId, 'sample', 'succeeded', 'alice'],
    ]);
  });
});

describe('drill report', () => {
  const drill = `id: drill
title: Monthly drill
kind: drill
params:
  backup: { type: backup, default: latest-verified }
  trainee: { type: text, default: "{{run.operator}}" }
targets: { rto: 15m, rpo: 1d }
measure:
  recovered: verify
  data_through: "{{steps.restore.snapshotAt}}"
steps:
  - id: restore
    title: Restore into a sandbox
    action: emit
    with: { values: { backupId: 20261124T020000Z-daily, snapshotAt: "2026-11-24T02:00:00.000Z" } }
  - id: optional
    title: Optional warm-up
    action: count
    confirm: { type: yes-no }
  - id: verify
    title: Verify the restore
    checks: { post: [{ check: flag, with: { name: restored } }] }
`;

  it('measures drill RTO from the start to the verified restore and RPO from the start back to the snapshot', async () => {
    const world = newWorld();
    world.flags.restored = true;
    const registry = testRegistry(world);
    let now = Date.parse('2026-11-24T22:00:00.000Z');
    // Each reading of the clock is one second later: a deterministic 20-odd second drill.
    const ran = await runRunbook({
      loaded: load(drill, registry),
      registry,
      answer: scripted([{ type: 'skip', reason: 'not needed for a drill' }]),
      home: tempDir(),
      params: { backup: 'latest-verified', trainee: 'bob' },
      clock: () => (now += 1000),
    });
    expect(ran.outcome).toBe('skipped-steps');
    expect(ran.measurements.rpo).toEqual({ ms: 20 * 3600_000 + 1000, targetMs: 86_400_000, met: true, from: '2026-11-24T02:00:00.000Z', to: '2026-11-24T22:00:01.000Z' });
    expect(ran.measurements.rto).toMatchObject({ from: '2026-11-24T22:00:01.000Z', targetMs: 900_000, met: true });
    expect(ran.measurements.rto!.ms).toBeGreaterThan(0);

    const markdown = renderReport({ lines: readAuditLines(ran.auditFile), verification: verifyAuditFile(ran.auditFile) });
    expect(markdown).toContain('# Drill report: Monthly drill');
    expect(markdown).toContain('| Operator | alice (trainee: bob) |');
    expect(markdown).toContain('| Backup used | `20261124T020000Z-daily` |');
    expect(markdown).toMatch(/\| RTO \(start to verified recovery\) \| 15m \| \d+s \| yes \|/);
    expect(markdown).toContain('| RPO (drill start minus newest data restored) | 1d | 20h 1s | yes |');
    expect(markdown).toMatch(/\| 2 \| Optional warm-up \(`optional`\) \| action \| [\d:]+ \| [\d.]+s \| skipped \| not needed for a drill \|/);
    expect(markdown).toContain('- `optional` (step): not needed for a drill');
    expect(markdown).toMatch(/\| `verify` \| post \| flag restored \| 1 \| passed \| restored is up \|/);
    expect(markdown).toMatch(/Audit trail \| intact: \d+ lines/);
  });

  it('measures recovery RPO against the incident time, and says when the recovery was never verified', async () => {
    const world = newWorld();
    const registry = testRegistry(world);
    const recovery = drill
      .replace('kind: drill', 'kind: recovery\n')
      .replace('  trainee:', '  incident: { type: timestamp }\n  trainee:')
      .replace('  data_through:', '  incident: "{{params.incident}}"\n  data_through:');
    const ran = await runRunbook({
      loaded: load(recovery, registry),
      registry,
      answer: scripted([{ type: 'yes' }, { type: 'skip', reason: 'dashboard is down, checked with psql' }]),
      home: tempDir(),
      params: { backup: 'latest-verified', trainee: 'bob', incident: '2026-11-24T03:30:00.000Z' },
    });
    expect(ran.measurements.rpo).toMatchObject({ ms: 90 * 60_000, met: true, to: '2026-11-24T03:30:00.000Z' });
    expect(ran.measurements.rto).toBeDefined();

    world.flags.restored = false;
    const failed = await runRunbook({
      loaded: load(recovery, registry),
      registry,
      answer: scripted([{ type: 'yes' }, { type: 'abort' }]),
      home: tempDir(),
      params: { backup: 'latest-verified', trainee: 'bob', incident: '2026-11-24T03:30:00.000Z' },
    });
    expect(failed.outcome).toBe('aborted');
    expect(failed.measurements.rto).toBeUndefined();
    const markdown = renderReport({ lines: readAuditLines(failed.auditFile), verification: verifyAuditFile(failed.auditFile) });
    expect(markdown).toContain('# Recovery report');
    expect(markdown).toContain('RTO not measured: step "verify" did not complete.');
    expect(markdown).toMatch(/\| RTO \(start to verified recovery\) \| 15m \| not measured \| - \|/);
  });

  it('a report of an edited file says the chain is broken and where', async () => {
    const ran = await sampleRun();
    const edited = edit(ran.auditFile, (lines) => lines.map((line, i) => (i === 2 ? line.replace('"alice"', '"mallory"') : line)));
    const markdown = renderReport({ lines: readAuditLines(edited), verification: verifyAuditFile(edited) });
    expect(markdown).toContain('| Audit trail | **BROKEN** at line 3: its content does not match its hash (edited) |');
  });
});
