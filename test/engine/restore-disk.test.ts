import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, type Cluster } from '../../src/postgres/cluster.js';
import { seedDemoShop } from '../../src/postgres/seed.js';
import { tempHome, type TempHome } from '../helpers/cluster.js';
import { mountTmpfs } from '../helpers/tmpfs.js';
import { backupIdOf, cliFor, databases, dbUrl, query } from './helpers.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-disk-'));
const mounted = await mountTmpfs(root, '160m');

describe.runIf(mounted)('restore refuses when the server has no room for a second copy (real small tmpfs)', () => {
  let cluster: Cluster;
  let home: TempHome;

  beforeAll(async () => {
    cluster = await createCluster({ dir: path.join(root, 'cluster'), settings: { fsync: false, max_wal_size: '64MB', min_wal_size: '32MB' } });
    await query(cluster.conn('postgres'), 'CREATE DATABASE shop');
    await seedDemoShop(cluster.conn('shop'), { rows: 20_000 });
    home = await tempHome();
  });
  afterAll(async () => {
    await cluster?.destroy().catch(() => undefined);
    await home?.cleanup();
    await execa('umount', [root], { reject: false });
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('names the free and needed space and hints --in-place; nothing is created', async () => {
    const cli = cliFor({ ...home.env, LIFELINE_DB: dbUrl(cluster, 'shop'), LIFELINE_OPERATOR: 'ci-bot' });
    const id = backupIdOf(await cli('--json', 'backup'));
    const [{ size }] = await query<{ size: string }>(cluster.conn('postgres'), `SELECT pg_database_size('shop') AS size`);
    // Leave about half of one copy free on the cluster's file system.
    const { bavail, bsize } = fs.statfsSync(root);
    const filler = bavail * bsize - Math.floor(Number(size) / 2);
    const fd = fs.openSync(path.join(root, 'filler'), 'w');
    const chunk = Buffer.alloc(1024 * 1024, 1);
    for (let written = 0; written < filler; written += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, filler - written));
    fs.closeSync(fd);

    const before = await databases(cluster);
    const result = await cli('restore', id, '--yes');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/error: Not enough disk for a second copy: [\d.]+ MiB free, about [\d.]+ MiB needed/);
    expect(result.stderr).toMatch(/hint: Free space on the database server, or use --in-place/);
    expect(await databases(cluster)).toEqual(before);
  });
});

it.skipIf(mounted)('restore disk check (needs root to mount a small tmpfs)', () => undefined);
