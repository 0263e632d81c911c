import { PutObjectCommand } from '@aws-sdk/client-s3';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { describeConn } from '../../src/postgres/conninfo.js';
import { runCli, seeded, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';
import { startS3rver, type S3TestServer } from './helpers/s3rver.js';

/*
 * The built CLI (npm run build) against a real S3-compatible server: backup, list, verify,
 * restore, a second copy in a local repository, restore from that copy, and an object changed
 * behind lifeline's back. Credentials, region and endpoint come from the AWS variables only.
 */

let server: S3TestServer;
let pg: TestCluster;
let home: TempHome;
let db: string;
let localCopy: string;
const repo = 's3://lifeline-e2e/prod/db1';
let backupId = '';

const cli = (...args: string[]) => runCli(args, { env: { ...home.env, ...server.env, LIFELINE_DB: db } });
const json = (stdout: string) => JSON.parse(stdout) as Record<string, any>;
const count = (database: string, table: string) =>
  withClient(pg.conn(database), async (client) => Number((await client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n));

beforeAll(async () => {
  [server, pg, home] = await Promise.all([startS3rver({ buckets: ['lifeline-e2e'] }), startTestCluster(), tempHome()]);
  await seeded(pg, { rows: 2000 });
  db = describeConn(pg.tcpConn('shop'));
  localCopy = path.join(home.home, 'second-copy');
});
afterAll(async () => {
  await Promise.all([server?.cleanup(), pg?.cleanup(), home?.cleanup()]);
});

describe('lifeline on S3, end to end', () => {
  it('backup --repo s3://… verifies and lists from the bucket', async () => {
    const backup = await cli('--json', '--repo', repo, 'backup', '--label', 'manual', '--reason', 's3 e2e', '--verify', 'archive');
    expect(backup.exitCode, backup.stderr).toBe(0);
    backupId = json(backup.stdout).backup.id;
    expect(json(backup.stdout).verification.ok).toBe(true);
    expect(backup.stderr).not.toMatch(/NodeVersionSupportWarning|DeprecationWarning/);

    const list = await cli('--json', '--repo', repo, 'list');
    expect(list.exitCode, list.stderr).toBe(0);
    const listed = json(list.stdout);
    expect(listed.repository).toBe(repo);
    expect(listed.backups.map((b: { id: string }) => b.id)).toEqual([backupId]);
    expect(listed.backups[0].verifiedLevel).toBe('archive');
  });

  it('verify --level consistency and restore --into read from S3 (LIFELINE_REPO)', async () => {
    const env = { ...home.env, ...server.env, LIFELINE_DB: db, LIFELINE_REPO: repo };
    const verify = await runCli(['verify', backupId, '--level', 'consistency'], { env });
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`${backupId} verified at level consistency`);

    const restore = await runCli(['restore', backupId, '--into', 'shop_from_s3', '--yes'], { env });
    expect(restore.exitCode, restore.stdout + restore.stderr).toBe(0);
    expect(await count('shop_from_s3', 'orders')).toBe(await count('shop', 'orders'));
  });

  it('copy to a local second repository: both list the same backup, restore works from the copy, a second copy skips', async () => {
    const copy = await cli('--repo', repo, 'copy', backupId, '--to', localCopy);
    expect(copy.exitCode, copy.stdout + copy.stderr).toBe(0);
    expect(copy.stdout).toMatch(new RegExp(`${backupId}: copied \\d+ of \\d+ objects`));

    const [fromS3, fromLocal] = await Promise.all([cli('--json', '--repo', repo, 'list'), cli('--json', '--repo', localCopy, 'list')]);
    const pick = (stdout: string) => json(stdout).backups.map((b: Record<string, unknown>) => [b.id, b.sizeBytes, b.verifiedLevel]);
    expect(pick(fromLocal.stdout)).toEqual(pick(fromS3.stdout));
    expect(pick(fromLocal.stdout)[0][0]).toBe(backupId);
    expect((await fs.stat(path.join(localCopy, 'backups', backupId, 'manifest.json'))).mode & 0o777).toBe(0o600);

    const again = await cli('--repo', repo, 'copy', backupId, '--to', localCopy);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain(`${backupId}: already there`);

    const restore = await cli('--repo', localCopy, 'restore', backupId, '--into', 'shop_from_copy', '--yes');
    expect(restore.exitCode, restore.stdout + restore.stderr).toBe(0);
    expect(await count('shop_from_copy', 'order_items')).toBe(await count('shop', 'order_items'));

    // And back the other way, into a fresh prefix of the bucket, with --all.
    const back = await cli('--repo', localCopy, 'copy', '--all', '--to', 's3://lifeline-e2e/copy-back');
    expect(back.exitCode, back.stdout + back.stderr).toBe(0);
    const listBack = await cli('--json', '--repo', 's3://lifeline-e2e/copy-back', 'list');
    expect(pick(listBack.stdout)).toEqual(pick(fromS3.stdout));
  });

  it('verify names an object changed behind lifeline\'s back', async () => {
    const list = json((await cli('--json', '--repo', repo, 'list')).stdout);
    expect(list.backups[0].id).toBe(backupId);
    const manifest = json((await fs.readFile(path.join(localCopy, 'backups', backupId, 'manifest.json'), 'utf8')));
    const object = manifest.objects[0] as { name: string; size: number };
    const store = server.store('lifeline-e2e', 'prod/db1');
    await store.client.send(new PutObjectCommand({ Bucket: 'lifeline-e2e', Key: `prod/db1/backups/${backupId}/${object.name}`, Body: Buffer.alloc(object.size, 7) }));

    const verify = await cli('--repo', repo, 'verify', backupId, '--level', 'integrity');
    expect(verify.exitCode).toBe(1);
    expect(verify.stdout).toContain(object.name);
    expect(verify.stdout).toMatch(/FAIL/);
  });

  it('S3 settings go through `config set` and are validated', async () => {
    const ok = await cli('config', 'set', 'repository.s3', '{"partSizeMb": 5, "queueSize": 2, "objectLock": {"mode": "governance", "days": 14}}');
    expect(ok.exitCode, ok.stderr).toBe(0);
    const bad = await cli('config', 'set', 'repository.s3.partSizeMb', '2');
    expect(bad.exitCode).toBe(2);
    const mode = await cli('config', 'set', 'repository.mode', 'shared-group');
    expect(mode.exitCode).toBe(2);
    expect(mode.stderr).toMatch(/group/);
  });
});
