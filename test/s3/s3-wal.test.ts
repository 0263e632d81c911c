import { randomBytes, createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walFetch } from '../../src/engine/wal/fetch.js';
import { walPush } from '../../src/engine/wal/push.js';
import { withClient } from '../../src/postgres/client.js';
import { openCluster } from '../../src/postgres/cluster.js';
import { describeConn, type ConnInfo } from '../../src/postgres/conninfo.js';
import { repoRoot, runCli, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';
import { startS3rver, type S3TestServer } from './helpers/s3rver.js';

/* PITR on S3: wal-push / wal-fetch (engine and the CLI's fast path), a physical base backup, and a recovery to a time from the bucket. */

let server: S3TestServer;
let home: TempHome;
let pg: TestCluster;
const SEGMENT = '000000010000000A000000FE';
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  [server, home] = await Promise.all([startS3rver({ buckets: ['lifeline-wal'] }), tempHome()]);
  // archive_command runs as postgres through a shell: the AWS variables go inline, as an operator
  // would put them in the server's environment (systemd Environment=, or ~postgres/.aws).
  const vars = Object.entries({ ...server.env, HOME: '/nonexistent' }).map(([k, v]) => `${k}=${v}`).join(' ');
  const archive = `env ${vars} ${process.execPath} ${path.join(repoRoot, 'bin', 'lifeline.js')} wal-push --repo s3://lifeline-wal/base %p`;
  pg = await startTestCluster({ settings: { archive_mode: 'on', archive_command: archive, wal_level: 'replica' } });
});
afterAll(async () => {
  await Promise.all([server?.cleanup(), home?.cleanup(), pg?.cleanup()]);
});

describe('WAL archive on S3', () => {
  it('engine: push stores once, is idempotent, refuses different content; fetch verifies', async () => {
    const store = server.store('lifeline-wal', 'engine');
    const bytes = Buffer.concat([randomBytes(200_000), Buffer.alloc(16 * 1024 * 1024 - 200_000)]);
    const file = path.join(home.home, SEGMENT);
    await fs.writeFile(file, bytes);
    const pushed = await walPush({ store, file });
    expect(pushed).toMatchObject({ created: true, sha256: sha(bytes) });
    expect(await walPush({ store, file })).toMatchObject({ created: false });
    await fs.writeFile(file, randomBytes(1000));
    await expect(walPush({ store, file })).rejects.toMatchObject({ code: 'WAL_CONFLICT' });
    const dest = path.join(home.home, 'fetched');
    expect(await walFetch({ store, name: SEGMENT, dest })).toMatchObject({ found: true, sha256: sha(bytes) });
    expect(sha(await fs.readFile(dest))).toBe(sha(bytes));
    expect(await walFetch({ store, name: '000000010000000A000000FF', dest: path.join(home.home, 'none') })).toMatchObject({ found: false });
  });

  it('an incompressible segment larger than a part is still one PutObject, and fetches back whole', async () => {
    const store = server.store('lifeline-wal', 'random', { partSizeMb: 5 });
    const requests: string[] = [];
    store.client.middlewareStack.add(
      (next, context) => (args) => {
        requests.push(`${context.commandName} ${(args.input as { Key?: string }).Key ?? ''}`);
        return next(args);
      },
      { step: 'initialize', name: 'recordCommands' },
    );
    const bytes = randomBytes(16 * 1024 * 1024);
    const file = path.join(home.home, '000000010000000B00000001');
    await fs.writeFile(file, bytes);
    expect(await walPush({ store, file })).toMatchObject({ created: true, sha256: sha(bytes) });
    const writes = requests.filter((request) => request.includes('000000010000000B00000001') && /Put|Part|Multipart/.test(request));
    expect(writes.map((request) => request.split(' ')[0])).toEqual(['PutObjectCommand']);
    const dest = path.join(home.home, 'fetched-random');
    expect(await walFetch({ store, name: '000000010000000B00000001', dest })).toMatchObject({ found: true, sha256: sha(bytes) });
    expect(sha(await fs.readFile(dest))).toBe(sha(bytes));
  });

  it('CLI: wal-push and wal-fetch with --repo s3://… (the fast path), exit codes as PostgreSQL expects', async () => {
    const env = { ...home.env, ...server.env };
    const bytes = randomBytes(1024 * 1024);
    const file = path.join(home.home, 'cli', '000000010000000B00000001');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, bytes);
    const repo = 's3://lifeline-wal/cli';
    const push = await runCli(['wal-push', '--repo', repo, file], { env });
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).not.toMatch(/Warning/);
    const dest = path.join(home.home, 'cli', 'RECOVERYXLOG');
    const fetch = await runCli(['wal-fetch', '--repo', repo, '000000010000000B00000001', dest], { env });
    expect(fetch.exitCode, fetch.stderr).toBe(0);
    expect(sha(await fs.readFile(dest))).toBe(sha(bytes));
    const missing = await runCli(['wal-fetch', '--repo', repo, '000000010000000B00000002', dest], { env });
    expect(missing.exitCode).toBe(1);
    // The server gone: not "missing" (which would end recovery early) but a hard failure.
    // (One attempt per request, set in the config that wal-fetch reads without conf/zod.)
    await fs.mkdir(path.join(home.home, 'config'), { recursive: true });
    await fs.writeFile(path.join(home.home, 'config', 'config.json'), JSON.stringify({ repository: { s3: { maxAttempts: 1 } } }));
    const down = await runCli(['wal-fetch', '--repo', repo, '000000010000000B00000001', dest], { env: { ...env, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' } });
    expect(down.exitCode).toBe(126);
    expect(down.stderr).toMatch(/Cannot reach S3/);
  });

  it('a physical base backup streams into the bucket', async () => {
    const env = { ...home.env, ...server.env };
    const backup = await runCli(['--json', '--db', describeConn(pg.tcpConn('postgres')), '--repo', 's3://lifeline-wal/base', 'backup', '--physical', '--verify', 'none'], { env });
    expect(backup.exitCode, backup.stderr).toBe(0);
    const id = JSON.parse(backup.stdout).backup.id as string;
    const list = await runCli(['--json', '--repo', 's3://lifeline-wal/base', 'list'], { env });
    expect(JSON.parse(list.stdout).backups.map((b: { id: string; kind: string }) => [b.id, b.kind])).toEqual([[id, 'base']]);
    const integrity = await runCli(['--repo', 's3://lifeline-wal/base', 'verify', id, '--level', 'integrity'], { env });
    expect(integrity.exitCode, integrity.stdout + integrity.stderr).toBe(0);
  });

  it('pitr recovers to a time from the bucket alone: base backup and WAL fetched from S3, A kept, B not', async () => {
    const env = { ...home.env, ...server.env };
    const repo = 's3://lifeline-wal/base';
    const sql = async <T>(text: string) => withClient(pg.conn('postgres'), async (c) => (await c.query(text)).rows as T[]);
    const backup = await runCli(['--json', '--db', describeConn(pg.tcpConn('postgres')), '--repo', repo, 'backup', '--physical', '--verify', 'none'], { env });
    expect(backup.exitCode, backup.stderr).toBe(0);
    await sql("CREATE TABLE marks (phase text); INSERT INTO marks VALUES ('A')");
    const [{ t: target }] = await sql<{ t: string }>(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t`);
    await sql("INSERT INTO marks VALUES ('B')");
    const [{ file }] = await sql<{ file: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS file');
    const deadline = Date.now() + 60_000;
    while ((await sql<{ last: string | null }>('SELECT last_archived_wal AS last FROM pg_stat_archiver'))[0].last! < file) {
      if (Date.now() > deadline) throw new Error(`${file} was not archived in time`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const dataDir = path.join(home.home, 'pitr-from-s3');
    const run = await runCli(['--json', '--repo', repo, 'pitr', '--to', target, '--data-dir', dataDir, '--yes'], { env, timeoutMs: 180_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    const cluster = await openCluster(`${dataDir}.lifeline`);
    try {
      const conn: ConnInfo = { host: out.socketDir, port: out.port, user: 'postgres', database: 'postgres', params: {} };
      const phases = await withClient(conn, async (c) => (await c.query<{ phase: string }>('SELECT phase FROM marks ORDER BY phase')).rows.map((r) => r.phase));
      expect(phases).toEqual(['A']);
      expect(out.timeline).toBeGreaterThan(1);
    } finally {
      await cluster.destroy();
    }
  });
});
