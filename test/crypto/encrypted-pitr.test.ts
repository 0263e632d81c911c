import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { describeConn, type ConnInfo } from '../../src/postgres/conninfo.js';
import { chownToServerUser } from '../../src/postgres/server-user.js';
import { archiveCommand } from '../../src/engine/wal/command.js';
import { shareRepositoryWithServer } from '../../src/engine/wal/archiving.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { filesContaining } from './helpers.js';
import { createDatabase, repoRoot, runCli, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';

/*
 * An encrypted base backup and WAL archive: archive_command encrypts with a key file the server
 * user reads, the stored bytes hold none of the data, and pitr recovers with the key (its
 * restore_command gets the keys through a private keyring file), while a missing key or a
 * flipped bit stops recovery instead of promoting.
 */

const BEFORE = 'canary-in-base-backup-0cc175b9c0f1b6a831c399e269772661';
const AFTER = 'canary-in-wal-92eb5ffee6ae2fec3ad71c777531578f';

let pg: TestCluster;
let home: TempHome;
let base: string;
let repo: string;
let keyFile: string;
let key: string;
let db: string;
let appConn: ConnInfo;
let target: string;
let segmentAfter: string;
let fingerprint: string;

const sql = async <T = Record<string, unknown>>(conn: ConnInfo, text: string) => withClient(conn, async (client) => (await client.query(text)).rows as T[]);
const utcNow = `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const env = (withKey = true) => ({ ...home.env, LIFELINE_DB: db, LIFELINE_REPO: repo, ...(withKey ? { LIFELINE_ENCRYPTION_KEY: key } : {}) });
const cli = (args: string[], withKey = true) => runCli(args, { env: env(withKey), timeoutMs: 180_000 });


async function switchWal(): Promise<string> {
  const [row] = await sql<{ file: string }>(pg.conn('postgres'), 'SELECT pg_walfile_name(pg_switch_wal()) AS file');
  const object = path.join(repo, 'wal', row.file.slice(0, 8), `${row.file}.zst`);
  const deadline = Date.now() + 30_000;
  while (!fs.existsSync(object)) {
    if (Date.now() > deadline) throw new Error(`${row.file} was not archived in time`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return row.file;
}

beforeAll(async () => {
  home = await tempHome();
  base = await fs.promises.mkdtemp(path.join('/tmp', 'lifeline-crypto-pitr-'));
  repo = path.join(base, 'repo');
  keyFile = path.join(base, 'key');
  const made = await runCli(['--json', 'keygen', '--out', keyFile], { env: home.env });
  expect(made.exitCode, made.stderr).toBe(0);
  fingerprint = JSON.parse(made.stdout).fingerprint;
  key = fs.readFileSync(keyFile, 'utf8').trim();
  // archive_command runs as the server's user: it must read the key file.
  await chownToServerUser(keyFile);
  await shareRepositoryWithServer(new LocalStore({ root: repo }), repo);
  pg = await startTestCluster({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand({ repo, keyFile }), max_wal_senders: 4 } });
  appConn = await createDatabase(pg, 'app');
  db = describeConn(pg.tcpConn('app'));
  expect((await runCli(['config', 'set', 'backup.compression', 'none'], { env: home.env })).exitCode).toBe(0);
  await sql(appConn, `CREATE TABLE items (id int PRIMARY KEY, body text NOT NULL); INSERT INTO items VALUES (0, '${BEFORE}')`);

  const backup = await cli(['--json', 'backup', '--physical', '--verify', 'archive']);
  expect(backup.exitCode, backup.stderr).toBe(0);
  const { backup: manifest, verification } = JSON.parse(backup.stdout);
  expect(manifest.encryption).toEqual({ algorithm: 'aes-256-gcm-stream-v1', keyFingerprint: fingerprint });
  expect(verification.ok).toBe(true);

  await sql(appConn, `INSERT INTO items SELECT g, '${AFTER}' FROM generate_series(1, 20) g`);
  segmentAfter = await switchWal();
  [{ t: target }] = await sql<{ t: string }>(appConn, `SELECT ${utcNow} AS t`);
  await sql(appConn, "INSERT INTO items VALUES (100, 'after the target')");
  await switchWal();
}, 240_000);

afterAll(async () => {
  await pg?.cleanup();
  await home?.cleanup();
  if (base) await fs.promises.rm(base, { recursive: true, force: true });
});

describe('encrypted base backups and WAL', () => {
  it('the base tar and every archived WAL file hold none of the data; wal-fetch with the key does', async () => {
    expect(filesContaining(repo, BEFORE)).toEqual([]);
    expect(filesContaining(repo, AFTER)).toEqual([]);
    const stored = path.join(repo, 'wal', '00000001', `${segmentAfter}.zst`);
    expect(fs.readFileSync(stored).subarray(0, 5).toString()).toBe('LLENC');
    expect((await execa('zstd', ['-t', stored], { reject: false })).exitCode).not.toBe(0);

    const dest = path.join(base, 'fetched');
    const fetched = await runCli(['wal-fetch', '--repo', repo, '--key-file', keyFile, segmentAfter, dest], { env: home.env });
    expect(fetched.exitCode, fetched.stderr).toBe(0);
    expect(fs.readFileSync(dest).includes(Buffer.from(AFTER))).toBe(true);

    // The control: decrypted, the base tar does hold the first canary.
    const baseId = JSON.parse((await cli(['--json', 'list'])).stdout).backups[0].id;
    const tar = path.join(base, 'base.tar');
    await execa('sh', ['-c', `"$NODE" bin/lifeline.js cat ${baseId} > "$OUT"`], { env: { ...env(), NODE: process.execPath, OUT: tar, PATH: process.env.PATH }, extendEnv: false, cwd: repoRoot });
    expect(fs.readFileSync(tar).includes(Buffer.from(BEFORE))).toBe(true);
    fs.rmSync(tar);

    const noKey = await runCli(['wal-fetch', '--repo', repo, segmentAfter, path.join(base, 'nokey')], { env: home.env });
    expect(noKey.exitCode).toBe(126);
    expect(noKey.stderr).toContain(`error: wal/00000001/${segmentAfter}.zst is encrypted with key ${fingerprint}, and no encryption key is set`);
  });

  it('pitr with the key recovers to the target, the keyring file gone afterwards', async () => {
    const result = await cli(['--json', 'pitr', '--to', target, '--into', 'app_at_t', '--yes']);
    expect(result.exitCode, result.stderr).toBe(0);
    const rows = await sql<{ id: number; body: string }>(pg.conn('app_at_t'), 'SELECT id, body FROM items ORDER BY id');
    expect(rows).toHaveLength(21);
    expect(rows[0].body).toBe(BEFORE);
    expect(rows[20].body).toBe(AFTER);
    const scratch = path.join(home.home, 'data', 'scratch');
    expect(filesContaining(scratch, key)).toEqual([]);
  });

  it('wal-push without its key refuses to archive into the encrypted repository', async () => {
    const walFile = path.join(base, '000000010000000000000099');
    fs.writeFileSync(walFile, Buffer.alloc(16 * 1024 * 1024, 7));
    const push = await runCli(['wal-push', '--repo', repo, walFile], { env: home.env });
    expect(push.exitCode).toBe(1);
    expect(push.stderr).toMatch(/will not store WAL there unencrypted, and no encryption key is set/);
    expect(push.stderr).toContain('--key-file');
    expect(fs.existsSync(path.join(repo, 'wal', '00000001', '000000010000000000000099.zst'))).toBe(false);
  });

  it('without the key, pitr names the key before touching anything; a flipped bit in WAL stops recovery', async () => {
    const dataDir = path.join(base, 'never');
    const noKey = await cli(['pitr', '--to', target, '--data-dir', dataDir, '--yes'], false);
    expect(noKey.exitCode).toBe(1);
    expect(noKey.stderr).toContain(`is encrypted with key ${fingerprint}, and no encryption key is set`);
    expect(fs.existsSync(dataDir)).toBe(false);

    const copy = path.join(base, 'repo-flipped');
    await execa('cp', ['-a', repo, copy]);
    const object = path.join(copy, 'wal', '00000001', `${segmentAfter}.zst`);
    const bytes = fs.readFileSync(object);
    bytes[bytes.length - 40] ^= 0x01;
    fs.writeFileSync(object, bytes);
    const flipped = path.join(base, 'recovered-flipped');
    const result = await runCli(['--repo', copy, 'pitr', '--to', target, '--data-dir', flipped, '--yes'], { env: env() });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/restore_command \(lifeline wal-fetch\) failed and PostgreSQL stopped recovery instead of promoting: .*chunk \d+ failed authentication/);
    const log = fs.readFileSync(path.join(`${flipped}.lifeline`, 'log', 'postgres.log'), 'utf8');
    expect(log).not.toMatch(/selected new timeline ID/);
    expect(fs.existsSync(path.join(`${flipped}.lifeline`, 'wal-keyring'))).toBe(false);
  });
});
