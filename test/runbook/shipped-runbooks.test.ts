import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { lifelinePaths } from '../../src/config/paths.js';
import { withClient } from '../../src/postgres/client.js';
import { describeConn, type ConnInfo } from '../../src/postgres/conninfo.js';
import { listSandboxes } from '../../src/postgres/sandbox.js';
import { createBuiltinRegistry } from '../../src/runbook/builtins.js';
import { loadRunbookFile } from '../../src/runbook/loader.js';
import { runbookFiles, shippedRunbookDir } from '../../src/runbook/files.js';
import type { RunServices } from '../../src/runbook/registry.js';
import { openRepository } from '../../src/storage/open-repository.js';
import { logicalBackup } from '../../src/engine/backup/logical.js';
import { repoRoot, runCli, seeded, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';
import { runRunbook, scripted } from './helpers.js';

const registry = createBuiltinRegistry();

describe('the shipped runbooks', () => {
  it('all load, every step explains itself, and runbook.schema.json is what `runbooks schema` prints', async () => {
    const files = runbookFiles([{ dir: shippedRunbookDir(), source: 'shipped' }]);
    expect(files.map((file) => file.name).sort()).toEqual(['drill', 'full-recovery', 'pitr', 'pre-deploy-backup', 'provider-pitr', 'verify-backup']);
    for (const file of files) {
      const { runbook } = loadRunbookFile(file.file, registry);
      for (const step of runbook.steps) expect(step.explain, `${file.name}: ${step.id}`).toBeTruthy();
    }
    const printed = await runCli(['runbooks', 'schema']);
    expect(printed.exitCode).toBe(0);
    expect(fs.readFileSync(path.join(repoRoot, 'runbooks', 'runbook.schema.json'), 'utf8')).toBe(`${printed.stdout}\n`);
  });
});

describe('lifeline run drill with nothing configured, no terminal', () => {
  let home: TempHome;
  beforeAll(async () => {
    home = await tempHome();
  });
  afterAll(() => home?.cleanup());

  it('bootstraps the sandbox and a backup, restores into a separate sandbox, verifies, measures and removes it; the trail verifies and is copied to the repository', async () => {
    const run = await runCli(['run', 'drill', '--plain', '--yes', '--operator', 'trainer', '--param', 'trainee=sam'], { env: home.env, timeoutMs: 180_000 });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const runId = /^run (\S+): Recovery drill/m.exec(run.stdout)![1];
    expect(run.stdout).toContain('the repository has no latest-verified backup: taking one now');
    expect(run.stdout).toMatch(/ok {3}post-check sandbox "drill-restore" database shop matches backup \S+-drill: 4 tables equal backup/);
    expect(run.stdout).toMatch(/^ {2}RTO .* against 15m: met$/m);
    expect(run.stdout).toMatch(/^ {2}RPO 0(\.0)?s against 1d: met$/m);

    const paths = lifelinePaths(home.env);
    expect(listSandboxes(paths)).toEqual(['default']);
    const copy = path.join(paths.data, 'repository', 'audit', `${runId}.jsonl`);
    expect(fs.readFileSync(copy, 'utf8')).toBe(fs.readFileSync(path.join(paths.state, 'audit', `${runId}.jsonl`), 'utf8'));

    const verify = await runCli(['audit', 'verify', runId], { env: home.env });
    expect(verify.exitCode, verify.stdout).toBe(0);
    const report = await runCli(['audit', 'report', runId], { env: home.env });
    expect(report.exitCode).toBe(0);
    expect(report.stdout).toContain('# Drill report: Recovery drill in the sandbox');
    expect(report.stdout).toContain('| Operator | trainer (trainee: sam) |');
    expect(report.stdout).toMatch(/\| Backup used \| `\d{8}T\d{6}Z-drill` \|/);
    expect(report.stdout).toMatch(/\| RTO \(start to verified recovery\) \| 15m \| [\d.]+s \| yes \|/);
    expect(report.stdout).toMatch(/\| RPO \(drill start minus newest data restored\) \| 1d \| 0(\.0)?s \| yes \|/);
    expect(report.stdout).toContain('The restored backup was taken during this run');

    // The second drill finds the verified backup and measures a real RPO against it.
    const again = await runCli(['run', 'drill', '--plain', '--yes'], { env: home.env, timeoutMs: 180_000 });
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/> using backup \S+-drill \(taken .*, verified at archive\): no new backup needed/);
    expect(again.stdout).toMatch(/^ {2}RPO (?!0(\.0)?s)\S+ against 1d: met$/m);
  }, 300_000);
});

describe('the full-recovery runbook against a real target', () => {
  let pg: TestCluster;
  let home: TempHome;
  let shop: ConnInfo;
  let services: RunServices;
  let backupId: string;
  beforeAll(async () => {
    pg = await startTestCluster();
    home = await tempHome();
    shop = await seeded(pg, { rows: 300 });
    const repo = await openRepository(path.join(home.home, 'repository'));
    backupId = (await logicalBackup({ conn: shop, repo, label: 'daily', operator: 'test', compression: 'gzip', lockWaitTimeoutSeconds: 5 })).manifest.id;
    services = {
      env: process.env,
      config: configSchema.parse({}),
      paths: lifelinePaths(home.env),
      connect: async () => ({ conn: shop, label: describeConn(shop), sandbox: false }),
      repo: async () => repo,
    };
    const { verifyBackup } = await import('../../src/engine/verify/verify.js');
    await verifyBackup({ repo, manifest: await repo.readManifest(backupId), level: 'archive', workDir: path.join(home.home, 'scratch') });
  });
  afterAll(async () => {
    await pg?.cleanup();
    await home?.cleanup();
  });

  const target = { name: 'prod', database: 'shop', host: 'test', sandbox: false, label: 'the test shop' };

  it('without a person nothing changes: the typed consent comes before maintenance (exit 4 under --yes)', async () => {
    const result = await runCli(['run', 'full-recovery', '--plain', '--yes', '--db', describeConn(pg.tcpConn('shop')), '--repo', path.join(home.home, 'repository')], { env: home.env });
    expect(result.exitCode, result.stdout + result.stderr).toBe(4);
    expect(result.stdout).toContain('--yes never answers a typed confirmation against a target that is not the sandbox');
    const [{ datconnlimit }] = await withClient(pg.conn('postgres'), async (client) => (await client.query("SELECT datconnlimit FROM pg_database WHERE datname = 'shop'")).rows);
    expect(datconnlimit).toBe(-1);
  });

  it('runs the four stages with typed consent: maintenance on, swap restore, verified data, maintenance off', async () => {
    await withClient(shop, (client) => client.query('DELETE FROM public.order_items WHERE quantity > 2'));
    const loaded = loadRunbookFile(path.join(shippedRunbookDir(), 'full-recovery.yaml'), registry);
    const answers = scripted([{ type: 'typed', text: 'shop' }, { type: 'yes' }, { type: 'yes' }]);
    const ran = await runRunbook({ loaded, registry, answer: answers, home: home.home, params: { backup: backupId, incident: new Date().toISOString() }, target, services });
    expect(ran.error).toBeUndefined();
    expect(ran).toMatchObject({ outcome: 'succeeded', exitCode: 0 });
    expect(answers.asked.map((request) => `${request.kind}:${request.step}`)).toEqual(['typed:maintenance-on', 'confirm:restore', 'manual:hand-over']);
    const checks = ran.events.filter((event) => event.kind === 'check-result');
    expect(checks.every((event) => event.kind === 'check-result' && event.data.ok)).toBe(true);
    expect(checks.map((event) => (event.kind === 'check-result' ? event.data.check : ''))).toEqual([
      'database.reachable',
      'role.privileges',
      'backup.verified',
      'disk.free',
      'maintenance.state',
      'maintenance.state',
      'data.matches-backup',
      'maintenance.state',
    ]);
    const databases = await withClient(pg.conn('postgres'), async (client) => (await client.query<{ datname: string; datconnlimit: number }>("SELECT datname, datconnlimit FROM pg_database WHERE datname LIKE 'shop%' ORDER BY 1")).rows);
    expect(databases).toEqual([
      { datname: 'shop', datconnlimit: -1 },
      { datname: expect.stringMatching(/^shop__pre_restore_/), datconnlimit: 0 },
    ]);
    expect(ran.measurements.rto).toBeDefined();
    expect(ran.measurements.rpo?.ms).toBeGreaterThan(0);
  });

  it('a role that may not swap stops the run at the preflight; nothing changed', async () => {
    const loaded = loadRunbookFile(path.join(shippedRunbookDir(), 'full-recovery.yaml'), registry);
    await withClient(pg.conn('postgres'), (client) => client.query("DROP ROLE IF EXISTS weak; CREATE ROLE weak LOGIN PASSWORD 'weak-pw'"));
    const weak = { ...shop, user: 'weak', password: 'weak-pw' };
    const answers = scripted([{ type: 'abort', reason: 'the role needs CREATEDB first' }]);
    const ran = await runRunbook({
      loaded,
      registry,
      answer: answers,
      home: home.home,
      params: { backup: backupId, incident: new Date().toISOString() },
      target,
      services: { ...services, connect: async () => ({ conn: weak, label: 'weak@shop', sandbox: false }) },
    });
    expect(ran).toMatchObject({ outcome: 'aborted', exitCode: 1, failedStep: 'preflight' });
    expect(answers.asked[0]).toMatchObject({ kind: 'decision', phase: 'pre', failure: expect.stringMatching(/role\.privileges: role weak .* lacks CREATEDB/) });
    expect(ran.events.some((event) => event.kind === 'step-started' && event.step === 'maintenance-on')).toBe(false);
  });
});
