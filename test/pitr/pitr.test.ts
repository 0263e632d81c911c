import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, runCli, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';
import { withClient } from '../../src/postgres/client.js';
import { describeConn, type ConnInfo } from '../../src/postgres/conninfo.js';
import { openCluster } from '../../src/postgres/cluster.js';
import { archiveCommand } from '../../src/engine/wal/command.js';
import { shareRepositoryWithServer } from '../../src/engine/wal/archiving.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { openRepository } from '../../src/storage/open-repository.js';
import { extractBaseBackup } from '../../src/engine/pitr/extract-base.js';

/*
 * One real cluster archiving through the built CLI's wal-push: base backup, commits A, time T,
 * commits B, WAL switched. Then recover to T in every way the issue names.
 */
let pg: TestCluster;
let home: TempHome;
let repo: string;
let db: string;
let appConn: ConnInfo;
let beforeBackup: string;
let target: string;
/** The archived segment holding the A commits (before T). */
let segmentA: string;
const cleanups: (() => Promise<void>)[] = [];

const utcNow = `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

async function sql<T = Record<string, unknown>>(conn: ConnInfo, text: string): Promise<T[]> {
  return withClient(conn, async (client) => (await client.query(text)).rows as T[]);
}

async function switchWal(): Promise<string> {
  const [row] = await sql<{ file: string }>(pg.conn('postgres'), 'SELECT pg_walfile_name(pg_switch_wal()) AS file');
  return row.file;
}

async function waitForArchived(file: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!fs.existsSync(path.join(repo, 'wal', file.slice(0, 8), `${file}.zst`))) {
    if (Date.now() > deadline) throw new Error(`${file} was not archived in time`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const cli = (args: string[]) => runCli(['--repo', repo, ...args], { env: home.env, timeoutMs: 120_000 });

/** A copy of the repository (ownership kept: the server user reads wal/ during recovery). */
async function copyRepo(name: string): Promise<string> {
  const copy = path.join(pg.root, name);
  await execa('cp', ['-a', repo, copy]);
  return copy;
}

beforeAll(async () => {
  home = await tempHome();
  const base = await fs.promises.mkdtemp(path.join('/tmp', 'lifeline-pitr-'));
  repo = path.join(base, 'repo');
  cleanups.push(() => fs.promises.rm(base, { recursive: true, force: true }));
  await shareRepositoryWithServer(new LocalStore({ root: repo }), repo);
  pg = await startTestCluster({
    settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand({ repo }), max_wal_senders: 4 },
  });
  appConn = await createDatabase(pg, 'app');
  db = describeConn({ ...pg.tcpConn('app') });
  await sql(appConn, "CREATE TABLE items (id int PRIMARY KEY, phase text NOT NULL); INSERT INTO items VALUES (0, 'before backup')");
  [{ t: beforeBackup }] = await sql<{ t: string }>(appConn, `SELECT ${utcNow} AS t`);

  const backup = await runCli(['--db', db, '--repo', repo, 'backup', '--physical', '--verify', 'archive'], { env: home.env });
  expect(backup.exitCode, backup.stderr).toBe(0);

  await sql(appConn, "INSERT INTO items SELECT g, 'A' FROM generate_series(1, 100) g");
  await sql(appConn, "UPDATE items SET phase = 'A2' WHERE id = 7");
  segmentA = await switchWal();
  await waitForArchived(segmentA);
  [{ t: target }] = await sql<{ t: string }>(appConn, `SELECT ${utcNow} AS t`);
  await sql(appConn, "INSERT INTO items SELECT g, 'B' FROM generate_series(101, 150) g");
  await sql(appConn, "DELETE FROM items WHERE id = 7");
  await waitForArchived(await switchWal());
}, 180_000);

afterAll(async () => {
  await pg?.cleanup();
  await home?.cleanup();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const expectStateA = (rows: { id: number; phase: string }[]) => {
  expect(rows.length).toBe(101);
  expect(rows.filter((r) => r.phase === 'B')).toEqual([]);
  expect(rows.find((r) => r.id === 7)?.phase).toBe('A2');
  expect(rows.find((r) => r.id === 0)?.phase).toBe('before backup');
};

describe('point-in-time recovery', () => {
  it('list shows the recoverable window from the base backup to the last archived commit', async () => {
    const result = await cli(['list', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const { backups, window } = JSON.parse(result.stdout);
    expect(backups[0]).toMatchObject({ kind: 'base', label: 'pitr', verifiedLevel: 'archive' });
    expect(window.gaps).toEqual([]);
    expect(window.ranges).toHaveLength(1);
    expect(Date.parse(window.from)).toBeGreaterThan(Date.parse(beforeBackup));
    expect(Date.parse(window.to)).toBeGreaterThan(Date.parse(target));
    expect((await cli(['list'])).stdout).toMatch(/point-in-time window: .* → /);
  });

  it('archiving setup shows the settings; check proves the archive end to end and times out clearly', async () => {
    const setup = await runCli(['--db', db, '--repo', repo, 'archiving', 'setup', '--json'], { env: home.env });
    expect(setup.exitCode, setup.stderr).toBe(0);
    const settings = JSON.parse(setup.stdout).settings as { name: string; ok: boolean }[];
    expect(Object.fromEntries(settings.map((s) => [s.name, s.ok]))).toEqual({ wal_level: true, archive_mode: true, archive_command: true, archive_timeout: false });
    const check = await runCli(['--db', db, '--repo', repo, 'archiving', 'check'], { env: home.env });
    expect(check.exitCode, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/archiving works: [0-9A-F]{24} arrived/);
    const elsewhere = await runCli(['--db', db, '--repo', path.join(pg.root, 'other-repo'), 'archiving', 'check', '--timeout', '2'], { env: home.env });
    expect(elsewhere.exitCode).toBe(1);
    expect(elsewhere.stderr).toMatch(/did not arrive in .*other-repo within 2 s/);
  });

  it('--data-dir: recovers to T, proves it, and leaves the cluster running with A and without B', async () => {
    const dataDir = path.join(pg.root, 'recovered');
    const result = await cli(['pitr', '--to', target, '--data-dir', dataDir, '--yes', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({ target: expect.stringContaining(target.slice(0, 19)), dataDir, database: 'app' });
    expect(Date.parse(out.stoppedBefore)).toBeGreaterThan(Date.parse(target));
    const cluster = await openCluster(`${dataDir}.lifeline`);
    cleanups.push(() => cluster.destroy());
    expect(out.port).toBe(cluster.port);
    expect(out.socketDir).toBe(cluster.socketDir);
    const conn: ConnInfo = { host: out.socketDir, port: out.port, user: 'postgres', database: 'app', params: {} };
    expectStateA(await sql(conn, 'SELECT id, phase FROM items ORDER BY id'));
    const [state] = await sql<{ recovering: boolean; archive_mode: string }>(conn, "SELECT pg_is_in_recovery() AS recovering, current_setting('archive_mode') AS archive_mode");
    expect(state).toEqual({ recovering: false, archive_mode: 'off' });
    expect(fs.existsSync(path.join(dataDir, 'recovery.signal'))).toBe(false);
    await cluster.destroy();
  });

  it('a recovered cluster that serves on its new timeline: its own base backup and WAL recover again, through the .history file', async () => {
    const first = path.join(pg.root, 'recovered-tl2');
    const recovered = await cli(['pitr', '--to', target, '--data-dir', first, '--yes', '--json']);
    expect(recovered.exitCode, recovered.stderr).toBe(0);
    const tl2 = await openCluster(`${first}.lifeline`);
    cleanups.push(() => tl2.destroy());
    // "What comes next": archiving on into the same repository, the new timeline's history file
    // archived (it was written while archiving was off), a fresh base backup.
    await tl2.configure({ archive_mode: 'on', archive_command: archiveCommand({ repo }) });
    await tl2.restart();
    const history = path.join(first, 'pg_wal', '00000002.history');
    expect(JSON.parse(recovered.stdout).next.join('\n')).toContain(`lifeline wal-push --repo ${repo} ${history}`);
    const push = await runCli(['wal-push', '--repo', repo, history], { env: home.env });
    expect(push.exitCode, push.stderr).toBe(0);
    const tl2Db = describeConn(tl2.conn('app'));
    const backup = await runCli(['--db', tl2Db, '--repo', repo, 'backup', '--physical', '--verify', 'none'], { env: home.env });
    expect(backup.exitCode, backup.stderr).toBe(0);
    await sql(tl2.conn('app'), "INSERT INTO items VALUES (1000, 'C')");
    const switched = async () => (await sql<{ file: string }>(tl2.conn('postgres'), 'SELECT pg_walfile_name(pg_switch_wal()) AS file'))[0].file;
    await waitForArchived(await switched());
    const [{ t: target2 }] = await sql<{ t: string }>(tl2.conn('app'), `SELECT ${utcNow} AS t`);
    await sql(tl2.conn('app'), "INSERT INTO items VALUES (1001, 'D')");
    await waitForArchived(await switched());

    const second = path.join(pg.root, 'recovered-tl3');
    const again = await cli(['pitr', '--to', target2, '--data-dir', second, '--yes', '--json']);
    expect(again.exitCode, again.stderr).toBe(0);
    const tl3 = await openCluster(`${second}.lifeline`);
    cleanups.push(() => tl3.destroy());
    const out = JSON.parse(again.stdout);
    expect(out.timeline).toBe(3);
    const conn: ConnInfo = { host: out.socketDir, port: out.port, user: 'postgres', database: 'app', params: {} };
    expect((await sql<{ phase: string }>(conn, "SELECT phase FROM items WHERE id >= 1000 ORDER BY id")).map((r) => r.phase)).toEqual(['C']);
    // The history file came from what pitr laid out, not from a node start.
    const log = fs.readFileSync(path.join(`${second}.lifeline`, 'log', 'postgres.log'), 'utf8');
    expect(log).toMatch(/restored log file "00000002\.history" from archive/);
    await tl3.destroy();
    await tl2.destroy();
  });

  it('--into: carries the database as of T into a new database on the target server; refuses an existing one', async () => {
    const result = await runCli(['--db', db, '--repo', repo, 'pitr', '--to', target, '--into', 'app_at_t', '--yes', '--json'], { env: home.env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ into: 'app_at_t', database: 'app' });
    expectStateA(await sql(pg.conn('app_at_t'), 'SELECT id, phase FROM items ORDER BY id'));
    // The live database kept B; the recovered cluster is gone from the scratch folder.
    expect((await sql(appConn, "SELECT count(*)::int AS n FROM items WHERE phase = 'B'"))[0]).toEqual({ n: 50 });
    const scratch = path.join(home.home, 'data', 'scratch');
    expect(fs.existsSync(scratch) ? fs.readdirSync(scratch).filter((f) => f.startsWith('pitr-')) : []).toEqual([]);

    const again = await runCli(['--db', db, '--repo', repo, 'pitr', '--to', target, '--into', 'app_at_t', '--yes'], { env: home.env });
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
  });

  it('refuses targets outside the window, showing it, before touching anything', async () => {
    const dataDir = path.join(pg.root, 'never');
    const early = await cli(['pitr', '--to', beforeBackup, '--data-dir', dataDir, '--yes']);
    expect(early.exitCode).toBe(1);
    expect(early.stderr).toMatch(/before the oldest usable base backup\. Recoverable window: .* → /);
    const late = await cli(['pitr', '--to', new Date(Date.now() + 3600_000).toISOString(), '--data-dir', dataDir, '--yes']);
    expect(late.exitCode).toBe(1);
    expect(late.stderr).toMatch(/at or after the last archived commit/);
    expect(fs.existsSync(dataDir)).toBe(false);
    const dry = await cli(['pitr', '--to', target, '--data-dir', dataDir, '--dry-run', '--json']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, baseBackup: expect.stringMatching(/-pitr$/), plan: expect.arrayContaining([expect.stringMatching(/recovery_target_time = '.*\+00'/)]) });
    expect(fs.existsSync(dataDir)).toBe(false);
    const noConsent = await cli(['pitr', '--to', target, '--data-dir', dataDir]);
    expect(noConsent.exitCode).toBe(4);
    expect(noConsent.stderr).toMatch(/--yes/);
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('a missing WAL segment inside the window is named by list and refused before pitr starts', async () => {
    const copy = await copyRepo('repo-gap');
    const walDir = path.join(copy, 'wal', '00000001');
    // The segment holding the A commits (switched before T); later segments remain.
    const holdingA = `${segmentA}.zst`;
    fs.rmSync(path.join(walDir, holdingA));
    const list = await runCli(['--repo', copy, 'list', '--json'], { env: home.env });
    const { window } = JSON.parse(list.stdout);
    expect(window.gaps).toEqual([expect.objectContaining({ from: holdingA.replace('.zst', ''), count: 1 })]);
    expect((await runCli(['--repo', copy, 'list'], { env: home.env })).stdout).toMatch(/WAL GAP: missing 0000000/);
    const dataDir = path.join(pg.root, 'gap-never');
    const result = await runCli(['--repo', copy, 'pitr', '--to', target, '--data-dir', dataDir, '--yes'], { env: home.env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(holdingA.replace('.zst', ''));
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('a storage error during wal-fetch stops recovery with a clear error instead of promoting', async () => {
    const copy = await copyRepo('repo-corrupt');
    const walDir = path.join(copy, 'wal', '00000001');
    // The segment holding the A commits: recovery must replay it to reach T (the window check
    // reads only the newest segment, so pitr gets as far as starting the server).
    const object = path.join(walDir, `${segmentA}.zst`);
    const bytes = fs.readFileSync(object);
    bytes[bytes.length - 20] ^= 0xff;
    fs.writeFileSync(object, bytes);
    const dataDir = path.join(pg.root, 'recovered-corrupt');
    const result = await runCli(['--repo', copy, 'pitr', '--to', target, '--data-dir', dataDir, '--yes'], { env: home.env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/restore_command \(lifeline wal-fetch\) failed and PostgreSQL stopped recovery instead of promoting: .*corrupt/);
    const log = fs.readFileSync(path.join(`${dataDir}.lifeline`, 'log', 'postgres.log'), 'utf8');
    expect(log).not.toMatch(/selected new timeline ID/);
    expect(log).not.toMatch(/database system is ready to accept connections/);
    const cluster = await openCluster(`${dataDir}.lifeline`);
    expect(await cluster.isRunning()).toBe(false);
    await cluster.destroy();
  });

  it('base backups in gzip and none (decoded in Node, unlike zstd and lz4) extract and verify at the archive level; a damaged gzip one is named corrupt, not a tar failure', async () => {
    const ids: Record<string, string> = {};
    for (const codec of ['gzip', 'none']) {
      const result = await runCli(['--db', db, '--repo', repo, '--json', 'backup', '--physical', '--compress', codec, '--verify', 'archive'], { env: home.env });
      expect(result.exitCode, result.stderr).toBe(0);
      ids[codec] = JSON.parse(result.stdout).backup.id;
    }
    const copy = await copyRepo('repo-gzip-damaged');
    const repository = await openRepository(copy);
    const manifest = await repository.readManifest(ids.gzip);
    const object = manifest.objects.find((o) => o.name.startsWith('base.tar'))!;
    const file = path.join(copy, 'backups', ids.gzip, object.name);
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const dataDir = fs.mkdtempSync(path.join(pg.root, 'extract-'));
    await expect(extractBaseBackup(repository, manifest, dataDir)).rejects.toMatchObject({ code: 'REPO_CORRUPT', message: expect.stringContaining(`${object.name} is corrupt`) });
  });
});
