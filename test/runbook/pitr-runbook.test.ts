import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { lifelinePaths } from '../../src/config/paths.js';
import { withClient } from '../../src/postgres/client.js';
import { describeConn, type ConnInfo } from '../../src/postgres/conninfo.js';
import { archiveCommand } from '../../src/engine/wal/command.js';
import { shareRepositoryWithServer } from '../../src/engine/wal/archiving.js';
import { createBuiltinRegistry } from '../../src/runbook/builtins.js';
import { loadRunbookFile } from '../../src/runbook/loader.js';
import { shippedRunbookDir } from '../../src/runbook/files.js';
import { normalizeParam } from '../../src/runbook/params.js';
import type { RunInfo, RunServices } from '../../src/runbook/registry.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { openRepository } from '../../src/storage/open-repository.js';
import { createDatabase, runCli, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';
import { runRunbook, scripted } from './helpers.js';

/*
 * The pitr runbook against a real archiving cluster: base backup, commits A, time T, commits B.
 * The window and archiving checks fail for their reasons; the runbook recovers exactly state A.
 */
let pg: TestCluster;
let home: TempHome;
let repoDir: string;
let appConn: ConnInfo;
let beforeBackup: string;
let target: string;
const registry = createBuiltinRegistry();
const run: RunInfo = { id: 'pitr-test', operator: 'alice', dryRun: false, target: { name: 'app', sandbox: false, label: 'app' } };
const utcNow = `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

async function sql<T = Record<string, unknown>>(conn: ConnInfo, text: string): Promise<T[]> {
  return withClient(conn, async (client) => (await client.query(text)).rows as T[]);
}

function servicesFor(conn: ConnInfo): RunServices {
  return {
    env: process.env,
    config: configSchema.parse({ timezone: 'UTC' }),
    paths: lifelinePaths(home.env),
    connect: async () => ({ conn, label: describeConn(conn), sandbox: false }),
    repo: () => openRepository(repoDir),
  };
}

const check = async (name: string, args: Record<string, unknown>, conn: ConnInfo = appConn) => {
  const definition = registry.check(name)!;
  return definition.run({ with: definition.paramsSchema.parse(args), signal: new AbortController().signal, services: servicesFor(conn), run });
};

beforeAll(async () => {
  home = await tempHome();
  repoDir = path.join(await fs.promises.mkdtemp(path.join('/tmp', 'lifeline-pitr-runbook-')), 'repo');
  await shareRepositoryWithServer(new LocalStore({ root: repoDir }), repoDir);
  pg = await startTestCluster({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand({ repo: repoDir }), max_wal_senders: 4 } });
  appConn = await createDatabase(pg, 'app');
  await sql(appConn, "CREATE TABLE items (id int PRIMARY KEY, phase text NOT NULL); INSERT INTO items VALUES (0, 'before backup')");
  [{ t: beforeBackup }] = await sql<{ t: string }>(appConn, `SELECT ${utcNow} AS t`);
  const backup = await runCli(['--db', describeConn(pg.tcpConn('app')), '--repo', repoDir, 'backup', '--physical', '--verify', 'none'], { env: home.env });
  expect(backup.exitCode, backup.stderr).toBe(0);
  await sql(appConn, "INSERT INTO items SELECT g, 'A' FROM generate_series(1, 100) g");
  [{ t: target }] = await sql<{ t: string }>(appConn, `SELECT ${utcNow} AS t`);
  await sql(appConn, "INSERT INTO items SELECT g, 'B' FROM generate_series(101, 150) g");
}, 180_000);

afterAll(async () => {
  await pg?.cleanup();
  await home?.cleanup();
  if (repoDir) await fs.promises.rm(path.dirname(repoDir), { recursive: true, force: true });
});

describe('PITR checks and the pitr runbook against an archiving cluster', () => {
  it('archiving.healthy passes here and fails, saying why, on a server that does not archive', async () => {
    expect(await check('archiving.healthy', {})).toMatchObject({ ok: true, detail: expect.stringMatching(/^[0-9A-F]{24} arrived in .* after \d+ ms$/) });
    const plain = await startTestCluster();
    try {
      expect(await check('archiving.healthy', {}, plain.conn('postgres'))).toMatchObject({ ok: false, detail: expect.stringMatching(/WAL archiving is not on \(wal_level=replica, archive_mode=off/) });
    } finally {
      await plain.cleanup();
    }
  });

  it('pitr.window-covers fails for a moment before the oldest base backup', async () => {
    const early = await check('pitr.window-covers', { to: beforeBackup });
    expect(early).toMatchObject({ ok: false, detail: expect.stringMatching(/is before the oldest usable base backup\. Recoverable window: /) });
  });

  it('the pitr runbook recovers exactly the state at the target into a new database and measures RPO against it', async () => {
    const loaded = loadRunbookFile(path.join(shippedRunbookDir(), 'pitr.yaml'), registry);
    const to = normalizeParam('to', loaded.runbook.params.to, target);
    // A failed step asks for a decision: abort, so that ran.error shows the step's own error.
    const orAbort = (answer: { type: 'yes' }) => (request: { kind: string }) => (request.kind === 'decision' ? { type: 'abort' as const, reason: 'test: step failed' } : answer);
    const answers = scripted([(request) => ({ type: 'typed', text: request.kind === 'typed' ? request.expected : '' }), orAbort({ type: 'yes' })]);
    const ran = await runRunbook({
      loaded,
      registry,
      answer: answers,
      home: home.home,
      params: { to, into: 'app_at_t' },
      target: { name: 'app', database: 'app', sandbox: false, label: 'test app' },
      services: servicesFor(appConn),
    });
    expect(ran.error, JSON.stringify(ran.events.filter((e) => e.kind === 'attempt-failed'))).toBeUndefined();
    expect(ran).toMatchObject({ outcome: 'succeeded', exitCode: 0 });
    expect(answers.asked.map((request) => request.kind)).toEqual(['typed', 'manual']);
    const rows = await sql<{ phase: string }>({ ...appConn, database: 'app_at_t' }, 'SELECT phase FROM items');
    expect(rows.length).toBe(101);
    expect(rows.filter((row) => row.phase === 'B')).toEqual([]);
    expect(ran.measurements.rto).toBeDefined();
    expect(ran.measurements.rpo).toMatchObject({ to: to });
    expect(ran.measurements.rpo!.ms).toBeGreaterThanOrEqual(0);
    const finished = ran.events.find((event) => event.kind === 'step-finished' && event.step === 'recover');
    expect(finished?.kind === 'step-finished' && finished.data.outputs).toMatchObject({ backupId: expect.stringMatching(/-pitr$/), database: 'app_at_t', recoveredTo: expect.any(String) });
  });
});
