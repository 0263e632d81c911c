import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { describeConn } from '../../src/postgres/conninfo.js';
import { filesContaining } from '../crypto/helpers.js';
import { createDatabase, createRole, runCli, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';

/*
 * Issue #11, roles and globals: `lifeline backup --role-passwords` keeps the roles' password
 * hashes in globals.sql, only ever inside an encrypted object. Refused without a key (nothing
 * stored); as a superuser `lifeline cat` shows the hash while the stored bytes do not; as an
 * ordinary role (every managed service) the backup is taken without them, exit 3 and a warning.
 */

const KEY = randomBytes(32).toString('hex');
const ALICE = 'alice_7f3c';
const READER_PASSWORD = 'reader-pw-91b2';

let pg: TestCluster;
let home: TempHome;
let superUrl: string;
let readerUrl: string;
let aliceHash: string;

const repoAt = (name: string) => path.join(home.home, name);
const cli = (args: string[], options: { key?: boolean; repo: string }) =>
  runCli(['--repo', options.repo, ...args], { env: { ...home.env, ...(options.key ? { LIFELINE_ENCRYPTION_KEY: KEY } : {}) }, timeoutMs: 120_000 });
const backupsIn = (repo: string) => (fs.existsSync(path.join(repo, 'backups')) ? fs.readdirSync(path.join(repo, 'backups')) : []);

beforeAll(async () => {
  [pg, home] = await Promise.all([startTestCluster(), tempHome()]);
  await createDatabase(pg, 'app');
  await createRole(pg, ALICE, 'alice-password-3d9e');
  await createRole(pg, 'reader', READER_PASSWORD);
  await withClient(pg.conn('app'), async (c) => {
    await c.query('CREATE TABLE notes (id int PRIMARY KEY, body text)');
    // Not pg_read_all_data: that role reads pg_authid too, and so the password hashes.
    await c.query('GRANT SELECT ON notes TO reader');
    await c.query(`INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 100) g`);
  });
  aliceHash = (await withClient(pg.conn('postgres'), (c) => c.query<{ h: string }>('SELECT rolpassword AS h FROM pg_authid WHERE rolname = $1', [ALICE]))).rows[0].h;
  expect(aliceHash).toMatch(/^SCRAM-SHA-256\$/);
  superUrl = describeConn(pg.tcpConn('app'));
  readerUrl = `postgresql://reader:${READER_PASSWORD}@127.0.0.1:${pg.port}/app`;
}, 120_000);
afterAll(async () => {
  await home?.cleanup();
  await pg?.cleanup();
});

describe('backup --role-passwords', () => {
  it('is refused without an encryption key, before anything is stored (flag or config)', async () => {
    const repo = repoAt('plain-repo');
    const refused = await cli(['--db', superUrl, 'backup', '--role-passwords'], { repo });
    expect(refused.exitCode, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/^error: --role-passwords stores the roles' password hashes, and .* is not encrypted: nothing was backed up\.$/m);
    expect(refused.stderr).toMatch(/^hint: Set an encryption key/m);
    expect(backupsIn(repo)).toEqual([]);

    expect((await runCli(['config', 'set', 'backup.rolePasswords', 'true'], { env: home.env })).exitCode).toBe(0);
    try {
      const byConfig = await cli(['--db', superUrl, 'backup'], { repo });
      expect(byConfig.exitCode, byConfig.stderr).toBe(2);
      expect(backupsIn(repo)).toEqual([]);
      // The flag's negation overrides the setting: an ordinary backup, and the manifest says so.
      const without = await cli(['--json', '--db', superUrl, 'backup', '--no-role-passwords', '--verify', 'none'], { repo });
      expect(without.exitCode, without.stderr).toBe(0);
      expect(JSON.parse(without.stdout).backup.extra.rolePasswords).toBe('omitted');
      expect(filesContaining(repo, 'SCRAM-SHA-256')).toEqual([]);
    } finally {
      await runCli(['config', 'set', 'backup.rolePasswords', 'false'], { env: home.env });
    }
  });

  it('as a superuser with a key: `lifeline cat` shows the SCRAM hash, the stored bytes and every file lifeline wrote do not', async () => {
    const repo = repoAt('encrypted-repo');
    const backup = await cli(['--json', '--db', superUrl, 'backup', '--role-passwords', '--verify', 'restore'], { repo, key: true });
    expect(backup.stderr).not.toContain('internal error');
    expect(backup.exitCode, backup.stderr).toBe(0);
    const { backup: manifest, verification } = JSON.parse(backup.stdout);
    expect(verification.ok).toBe(true);
    expect(manifest.extra.rolePasswords).toBe('included');
    expect(manifest.objects.map((o: { name: string }) => o.name)).toContain('globals.sql');

    const cat = await cli(['cat', manifest.id, 'globals.sql'], { repo, key: true });
    expect(cat.exitCode, cat.stderr).toBe(0);
    expect(cat.stdout).toContain(aliceHash);
    expect(cat.stdout).toMatch(new RegExp(`ALTER ROLE ${ALICE} WITH .*PASSWORD 'SCRAM-SHA-256\\$`));

    expect(filesContaining(repo, aliceHash)).toEqual([]);
    expect(filesContaining(repo, 'SCRAM-SHA-256')).toEqual([]);
    expect(filesContaining(home.home, 'SCRAM-SHA-256')).toEqual([]);
    expect(backup.stdout + backup.stderr).not.toContain('SCRAM-SHA-256');
  });

  it('as an ordinary role (a managed service): the backup is taken without passwords, recorded, with a warning and exit 3', async () => {
    const repo = repoAt('encrypted-repo');
    const backup = await cli(['--json', '--db', readerUrl, 'backup', '--role-passwords', '--verify', 'none'], { repo, key: true });
    expect(backup.stderr).not.toContain('internal error');
    expect(backup.exitCode, backup.stderr).toBe(3);
    expect(backup.stderr).toMatch(/^warning: role passwords were asked for, but this role cannot read pg_authid \(.*\): globals\.sql holds the roles without passwords$/m);
    const { backup: manifest } = JSON.parse(backup.stdout);
    expect(manifest.extra.rolePasswords).toBe('unreadable');

    const cat = await cli(['cat', manifest.id, 'globals.sql'], { repo, key: true });
    expect(cat.exitCode, cat.stderr).toBe(0);
    expect(cat.stdout).toMatch(new RegExp(`CREATE ROLE ${ALICE};`));
    expect(cat.stdout).not.toMatch(/SCRAM-SHA-256|PASSWORD '/);
  });
});
