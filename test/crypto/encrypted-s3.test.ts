import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { describeConn } from '../../src/postgres/conninfo.js';
import { generateKey } from '../../src/storage/crypto/keys.js';
import { filesContaining } from './helpers.js';
import { createDatabase, runCli, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';
import { startS3rver, type S3TestServer } from '../s3/helpers/s3rver.js';

/*
 * An encrypted repository in a real S3-compatible server: what the server holds (its own data
 * folder) has none of the data, the audit copy is encrypted too, and verify/restore read it back.
 */

const CANARY = 'canary-on-s3-e4da3b7fbbce2345d7772b0674a318d5';

let server: S3TestServer;
let pg: TestCluster;
let home: TempHome;
let env: Record<string, string>;
const repo = 's3://lifeline-crypto/prod';


beforeAll(async () => {
  [server, pg, home] = await Promise.all([startS3rver({ buckets: ['lifeline-crypto'] }), startTestCluster(), tempHome()]);
  const conn = await createDatabase(pg, 'app');
  await withClient(conn, (client) => client.query(`CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, '${CANARY}')`));
  env = { ...home.env, ...server.env, LIFELINE_DB: describeConn(pg.tcpConn('app')), LIFELINE_REPO: repo, LIFELINE_ENCRYPTION_KEY: generateKey() };
  expect((await runCli(['config', 'set', 'backup.compression', 'none'], { env })).exitCode).toBe(0);
}, 120_000);
afterAll(async () => {
  await Promise.all([server?.cleanup(), pg?.cleanup(), home?.cleanup()]);
});

describe('an encrypted repository on S3', () => {
  it('stores nothing readable, and verifies, restores and audits with the key', async () => {
    const backup = await runCli(['--json', 'backup', '--verify', 'archive'], { env });
    expect(backup.exitCode, backup.stderr).toBe(0);
    const { backup: manifest } = JSON.parse(backup.stdout);
    expect(manifest.encryption.keyFingerprint).toMatch(/^[0-9a-f]{16}$/);

    const run = await runCli(['run', 'verify-backup', '--param', 'level=restore', '--plain', '--yes'], { env });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const restore = await runCli(['restore', manifest.id, '--into', 'app_copy', '--yes'], { env });
    expect(restore.exitCode, restore.stderr).toBe(0);
    const rows = await withClient(pg.conn('app_copy'), async (client) => (await client.query('SELECT body FROM notes')).rows);
    expect(rows).toEqual([{ body: CANARY }]);

    expect(filesContaining(server.dir, CANARY)).toEqual([]);
    const audits = filesContaining(server.dir, 'LLENC').filter((file) => file.includes('audit'));
    expect(audits.length).toBeGreaterThan(0);
    expect(filesContaining(server.dir, '"runbook":"verify-backup"')).toEqual([]);
    expect(filesContaining(server.dir, 'PGDMP')).toEqual([]);
  }, 240_000);
});
