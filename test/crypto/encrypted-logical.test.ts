import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { describeConn } from '../../src/postgres/conninfo.js';
import { findTool } from '../../src/postgres/tools.js';
import { filesContaining } from './helpers.js';
import { createDatabase, repoRoot, runCli, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';

/*
 * Encrypted logical backups through the built CLI: nothing of the data in the stored bytes,
 * restore/verify with the key, clear errors without it or with the wrong one, key rotation
 * through a keyring, and a repository that once held encrypted backups refusing plaintext.
 */

const CANARY = 'canary-value-5d41402abc4b2a76b9719d911017c592';
const ROLE = 'canary_role_7c6a180b';

let pg: TestCluster;
let home: TempHome;
let db: string;
let repo: string;
const keys: Record<'a' | 'b', { file: string; hex: string; fingerprint: string }> = {} as never;
let firstId: string;

const withKey = (hex?: string, extra: Record<string, string> = {}) => ({ ...home.env, LIFELINE_DB: db, LIFELINE_REPO: repo, ...(hex ? { LIFELINE_ENCRYPTION_KEY: hex } : {}), ...extra });
const cli = (args: string[], env: Record<string, string>) => runCli(args, { env });
const json = (stdout: string) => JSON.parse(stdout) as Record<string, any>;
const sql = (database: string, text: string) => withClient(pg.conn(database), async (client) => (await client.query(text)).rows);


beforeAll(async () => {
  [pg, home] = await Promise.all([startTestCluster(), tempHome()]);
  const conn = await createDatabase(pg, 'app');
  await sql('postgres', `DROP ROLE IF EXISTS ${ROLE}; CREATE ROLE ${ROLE} NOLOGIN`);
  await withClient(conn, async (client) => {
    await client.query('CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)');
    await client.query(`INSERT INTO notes SELECT g, 'filler ' || g FROM generate_series(1, 2000) g`);
    await client.query(`INSERT INTO notes VALUES (0, '${CANARY}')`);
  });
  db = describeConn(pg.tcpConn('app'));
  repo = path.join(home.home, 'repo');
  // Uncompressed dumps: without encryption the canary would stand in the stored bytes as it is.
  expect((await cli(['config', 'set', 'backup.compression', 'none'], home.env)).exitCode).toBe(0);
  for (const name of ['a', 'b'] as const) {
    const file = path.join(home.home, `key-${name}`);
    const made = await cli(['--json', 'keygen', '--out', file], home.env);
    expect(made.exitCode, made.stderr).toBe(0);
    keys[name] = { file, hex: fs.readFileSync(file, 'utf8').trim(), fingerprint: json(made.stdout).fingerprint };
  }
}, 120_000);
afterAll(async () => {
  await home?.cleanup();
  await pg?.cleanup();
});

describe('encrypted logical backups', () => {
  it('keygen prints a 64-hex key with its fingerprint and writes key files 0600 without overwriting', async () => {
    const printed = await cli(['keygen'], home.env);
    expect(printed.exitCode).toBe(0);
    expect(printed.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(printed.stderr).toMatch(/key fingerprint [0-9a-f]{16}/);
    expect(keys.a.hex).toMatch(/^[0-9a-f]{64}$/);
    expect(keys.a.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(keys.a.fingerprint).not.toBe(keys.b.fingerprint);
    expect(fs.statSync(keys.a.file).mode & 0o777).toBe(0o600);
    const again = await cli(['keygen', '--out', keys.a.file], home.env);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain('lifeline never overwrites a key file');
    expect(fs.readFileSync(keys.a.file, 'utf8').trim()).toBe(keys.a.hex);
  }, 180_000);

  it('stores no byte of the data or the roles in plaintext, and records the key fingerprint', async () => {
    const backup = await cli(['--json', 'backup', '--verify', 'archive'], withKey(keys.a.hex));
    expect(backup.exitCode, backup.stderr).toBe(0);
    const { backup: manifest, verification } = json(backup.stdout);
    firstId = manifest.id;
    expect(verification.ok).toBe(true);
    expect(manifest.encryption).toEqual({ algorithm: 'aes-256-gcm-stream-v1', keyFingerprint: keys.a.fingerprint });
    expect(manifest.objects.map((o: { name: string }) => o.name)).toEqual(['data.dump', 'globals.sql']);
    expect(filesContaining(repo, CANARY)).toEqual([]);
    expect(filesContaining(repo, ROLE)).toEqual([]);
    expect(filesContaining(repo, 'PGDMP')).toEqual([]);
    expect(fs.existsSync(path.join(repo, 'encryption.json'))).toBe(true);
    // The manifest stays plain JSON, and its sha256 is of the bytes as stored.
    const stored = fs.readFileSync(path.join(repo, 'backups', firstId, 'data.dump'));
    expect(stored.subarray(0, 5).toString()).toBe('LLENC');
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(stored).digest('hex')).toBe(manifest.objects[0].sha256);

    // The control: the same data unencrypted does show the canary, so the check above can fail.
    const plainRepo = path.join(home.home, 'plain-repo');
    const plain = await cli(['--repo', plainRepo, 'backup', '--verify', 'none'], withKey());
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(filesContaining(plainRepo, CANARY)).toHaveLength(1);
    expect(filesContaining(plainRepo, ROLE)).toHaveLength(1);
  }, 180_000);

  it('restores with the key, and `lifeline cat` feeds stock pg_restore', async () => {
    const restore = await cli(['restore', firstId, '--into', 'app_copy', '--yes'], withKey(keys.a.hex));
    expect(restore.exitCode, restore.stdout + restore.stderr).toBe(0);
    expect(await sql('app_copy', 'SELECT body FROM notes WHERE id = 0')).toEqual([{ body: CANARY }]);

    const pgRestore = await findTool('pg_restore', { major: 15 });
    const listing = await execa('sh', ['-c', `"$NODE" bin/lifeline.js cat ${firstId} | "$PG_RESTORE" --list`], {
      env: { ...withKey(keys.a.hex), NODE: process.execPath, PG_RESTORE: pgRestore.path, PATH: process.env.PATH },
      extendEnv: false,
      cwd: repoRoot,
    });
    expect(listing.stdout).toMatch(/TABLE DATA public notes/);
    const roles = await cli(['cat', firstId, 'globals.sql'], withKey(keys.a.hex));
    expect(roles.stdout).toContain(`CREATE ROLE ${ROLE}`);
  }, 180_000);

  it('without the key: integrity still verifies; reading says which key is needed (exit 1)', async () => {
    const integrity = await cli(['verify', firstId, '--level', 'integrity'], withKey());
    expect(integrity.exitCode, integrity.stderr).toBe(0);
    const archive = await cli(['verify', firstId, '--level', 'archive'], withKey());
    expect(archive.exitCode).toBe(1);
    expect(archive.stderr).toContain(`error: backup ${firstId} is encrypted with key ${keys.a.fingerprint}, and no encryption key is set`);
    expect(archive.stderr).toMatch(/hint: .*LIFELINE_ENCRYPTION_KEY/);
    const restore = await cli(['restore', firstId, '--into', 'app_nokey', '--yes'], withKey());
    expect(restore.exitCode).toBe(1);
    expect(restore.stderr).toContain(`encrypted with key ${keys.a.fingerprint}`);
    const cat = await cli(['cat', firstId], withKey());
    expect(cat.exitCode).toBe(1);
    expect(cat.stderr).toContain(`backups/${firstId}/data.dump is encrypted with key ${keys.a.fingerprint}`);
  }, 180_000);

  it('with the wrong key: names both keys and points at the keyring (exit 1)', async () => {
    const restore = await cli(['--json', 'restore', firstId, '--into', 'app_wrong', '--yes'], withKey(keys.b.hex));
    expect(restore.exitCode).toBe(1);
    const { error } = json(restore.stdout);
    expect(error.code).toBe('KEY_WRONG');
    expect(error.message).toBe(`backup ${firstId} was encrypted with key ${keys.a.fingerprint}; LIFELINE_ENCRYPTION_KEY is ${keys.b.fingerprint}`);
    expect(error.hint).toMatch(/Add the old key .* to the keyring/);
    const rows = await sql('postgres', "SELECT datname FROM pg_database WHERE datname = 'app_wrong'");
    expect(rows).toEqual([]);
  }, 180_000);

  it('copy carries encrypted objects as they are, without the key, and marks the copy encrypted', async () => {
    const second = path.join(home.home, 'second-copy');
    const copy = await cli(['copy', firstId, '--to', second], withKey());
    expect(copy.exitCode, copy.stderr).toBe(0);
    expect(fs.existsSync(path.join(second, 'encryption.json'))).toBe(true);
    expect(filesContaining(second, CANARY)).toEqual([]);
    const verify = await cli(['--repo', second, 'verify', firstId], withKey(keys.a.hex));
    expect(verify.exitCode, verify.stderr).toBe(0);
    const plainWrite = await cli(['--repo', second, 'backup'], withKey());
    expect(plainWrite.exitCode).toBe(1);
    expect(plainWrite.stderr).toContain('no encryption key is set');
  }, 180_000);

  it('refuses to store a backup without a key in a repository that holds encrypted ones', async () => {
    const before = fs.readdirSync(path.join(repo, 'backups')).sort();
    const backup = await cli(['backup'], withKey());
    expect(backup.exitCode).toBe(1);
    expect(backup.stderr).toMatch(/error: .*repo holds encrypted backups \(since .*\): lifeline will not store backups there unencrypted, and no encryption key is set/);
    expect(backup.stderr).toMatch(/hint: Set LIFELINE_ENCRYPTION_KEY/);
    expect(fs.readdirSync(path.join(repo, 'backups')).sort()).toEqual(before);
  }, 180_000);

  it('rotation: new backups use the current key B, the old one restores with A in the keyring', async () => {
    expect((await cli(['config', 'set', 'encryptionKeyFile', keys.b.file], home.env)).exitCode).toBe(0);
    const keyring = path.join(home.home, 'old-keys');
    fs.writeFileSync(keyring, `# retired ${new Date().toISOString()}\n${keys.a.hex}\n`, { mode: 0o600 });

    const second = await cli(['--json', 'backup', '--verify', 'none'], withKey());
    expect(second.exitCode, second.stderr).toBe(0);
    expect(json(second.stdout).backup.encryption.keyFingerprint).toBe(keys.b.fingerprint);

    const withoutOld = await cli(['verify', firstId], withKey());
    expect(withoutOld.exitCode).toBe(1);
    expect(withoutOld.stderr).toContain(`was encrypted with key ${keys.a.fingerprint}; ${keys.b.file} is ${keys.b.fingerprint}`);

    const viaEnv = await cli(['verify', firstId], withKey(undefined, { LIFELINE_KEYRING: keyring }));
    expect(viaEnv.exitCode, viaEnv.stderr).toBe(0);
    expect((await cli(['config', 'set', 'encryptionKeyringFile', keyring], home.env)).exitCode).toBe(0);
    const restore = await cli(['restore', firstId, '--into', 'app_rotated', '--yes'], withKey());
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect(await sql('app_rotated', 'SELECT body FROM notes WHERE id = 0')).toEqual([{ body: CANARY }]);
    expect(filesContaining(repo, CANARY)).toEqual([]);

    const list = json((await cli(['--json', 'list'], withKey())).stdout);
    expect(list.backups.map((b: { keyFingerprint: string }) => b.keyFingerprint)).toEqual([keys.b.fingerprint, keys.a.fingerprint]);
  }, 180_000);

  it('a key given to an unencrypted repository: old backups stay readable, new ones are encrypted, plain writes end', async () => {
    const plainRepo = path.join(home.home, 'plain-repo');
    const env = { LIFELINE_HOME: path.join(home.home, 'other-home'), LIFELINE_DB: db, LIFELINE_REPO: plainRepo };
    const [old] = json((await cli(['--json', 'list'], env)).stdout).backups;
    expect(old.encryption).toBeUndefined();
    const encrypted = await cli(['--json', 'backup', '--verify', 'none'], { ...env, LIFELINE_ENCRYPTION_KEY: keys.b.hex });
    expect(encrypted.exitCode, encrypted.stderr).toBe(0);
    expect(json(encrypted.stdout).backup.encryption.keyFingerprint).toBe(keys.b.fingerprint);
    const verifyOld = await cli(['verify', old.id], env);
    expect(verifyOld.exitCode, verifyOld.stderr).toBe(0);
    // Stock tools still read the old, unencrypted dump.
    expect(fs.readFileSync(path.join(plainRepo, 'backups', old.id, 'data.dump')).subarray(0, 5).toString()).toBe('PGDMP');
    const refused = await cli(['backup', '--verify', 'none'], env);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('no encryption key is set');
  }, 180_000);
});
