import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { describeConn } from '../../src/postgres/conninfo.js';
import { runCli, seeded, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';

/*
 * Issue #11: the provider-pitr runbook, end to end through the built CLI. A disposable cluster
 * stands in for the instance the provider's point-in-time restore created; the run guides,
 * records the provider, the target time (in UTC) and the new instance, and compares the
 * instance with a lifeline backup. The audit trail must hold all of it.
 */

let pg: TestCluster;
let home: TempHome;
let url: string;
let backupId: string;

interface AuditEvent {
  kind: string;
  step: string | null;
  data: Record<string, any>;
}
const auditOf = (runId: string): AuditEvent[] =>
  fs
    .readFileSync(path.join(home.home, 'state', 'audit', `${runId}.jsonl`), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as AuditEvent);
const runIdOf = (stdout: string) => /^run (\S+): Point-in-time recovery on a managed service/m.exec(stdout)![1];
const params = ['--param', 'provider=rds', '--param', 'to=2026-11-24T21:29:00+01:00', '--param', 'instance=shop-pitr-0412'];

beforeAll(async () => {
  [pg, home] = await Promise.all([startTestCluster(), tempHome()]);
  await seeded(pg, { rows: 300 });
  url = describeConn(pg.tcpConn('shop'));
  const backup = await runCli(['--json', '--db', url, 'backup', '--verify', 'archive'], { env: home.env });
  expect(backup.exitCode, backup.stderr).toBe(0);
  backupId = JSON.parse(backup.stdout).backup.id;
}, 120_000);
afterAll(async () => {
  await home?.cleanup();
  await pg?.cleanup();
});

describe('lifeline run provider-pitr', () => {
  it('records the provider, the target time in UTC, the new instance and a passing comparison with the backup', async () => {
    const run = await runCli(['--db', url, 'run', 'provider-pitr', '--plain', '--yes', ...params, '--param', `backup=${backupId}`], { env: home.env });
    expect(run.stderr).not.toContain('internal error');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    // The instruction shows the time back in UTC, with the provider's own command.
    expect(run.stdout).toContain('restore to 2026-11-24T20:29:00.000Z (UTC) into a new instance named shop-pitr-0412');
    expect(run.stdout).toContain('--target-db-instance-identifier shop-pitr-0412 --restore-time 2026-11-24T20:29:00.000Z');

    const events = auditOf(runIdOf(run.stdout));
    const started = events.find((e) => e.kind === 'run-started')!;
    expect(started.data.params).toEqual({ provider: 'rds', to: '2026-11-24T20:29:00.000Z', instance: 'shop-pitr-0412', backup: backupId });
    const manual = events.find((e) => e.kind === 'step-finished' && e.step === 'provider-restore')!;
    expect(manual.data.outcome).toBe('ok');
    const recorded = events.find((e) => e.kind === 'step-finished' && e.step === 'record')!;
    expect(recorded.data.outcome).toBe('ok');
    expect(recorded.data.outputs).toMatchObject({
      facts: { provider: 'rds', target_time: '2026-11-24T20:29:00.000Z', instance: 'shop-pitr-0412', compared_with_backup: backupId },
      database: 'shop',
      serverVersion: expect.stringMatching(/^PostgreSQL 1\d/),
      systemIdentifier: expect.stringMatching(/^\d+$/),
      inRecovery: false,
    });
    const compared = events.find((e) => e.kind === 'check-result' && e.step === 'verify' && e.data.check === 'data.matches-backup')!;
    expect(compared.data).toMatchObject({ ok: true, detail: expect.stringMatching(new RegExp(`^4 tables equal backup ${backupId}`)) });
    const finished = events.find((e) => e.kind === 'run-finished')!;
    expect(finished.data).toMatchObject({ outcome: 'succeeded', exitCode: 0 });

    const report = await runCli(['audit', 'report', runIdOf(run.stdout)], { env: home.env });
    expect(report.exitCode).toBe(0);
    expect(report.stdout).toContain('shop-pitr-0412');
  });

  it('an instance that differs from the backup fails the comparison, unattended, and the trail names the table', async () => {
    await withClient(pg.conn('shop'), (c) => c.query(`UPDATE customers SET name = name || ' (changed)' WHERE id = (SELECT min(id) FROM customers)`));
    const run = await runCli(['--db', url, 'run', 'provider-pitr', '--plain', '--yes', ...params, '--param', `backup=${backupId}`], { env: home.env });
    expect(run.stderr).not.toContain('internal error');
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    const compared = auditOf(runIdOf(run.stdout)).find((e) => e.kind === 'check-result' && e.data.check === 'data.matches-backup')!;
    expect(compared.data.ok).toBe(false);
    expect(compared.data.detail).toMatch(/differs from backup .*customers/);
  });

  it('refuses a target time without an offset before any step (exit 2)', async () => {
    const run = await runCli(['--db', url, 'run', 'provider-pitr', '--plain', '--yes', '--param', 'provider=neon', '--param', 'to=2026-11-24 21:29', '--param', 'instance=x'], { env: home.env });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/Param "to": .* is not a time lifeline can trust \(no UTC offset\)/);
  });
});
