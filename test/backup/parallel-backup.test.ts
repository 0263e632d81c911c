import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeConn, type ConnInfo } from '../../src/postgres/conninfo.js';
import { withClient } from '../../src/postgres/client.js';
import { logicalBackup } from '../../src/engine/backup/logical.js';
import { dumpedTables, fingerprintTables, qualified } from '../../src/engine/backup/fingerprint.js';
import { openRepository } from '../../src/storage/open-repository.js';
import type { Manifest } from '../../src/storage/manifest.js';
import { runCli, seeded, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';
import { smallTmpfs } from '../helpers/tmpfs.js';

let pg: TestCluster;
let home: TempHome;
let shop: ConnInfo;
let scratch: string;

/** The demo shop plus ~40 MB of random hex text in one table: pg_dump is still busy with it when the small tables' files are done. */
beforeAll(async () => {
  pg = await startTestCluster();
  shop = await seeded(pg, { database: 'shop', rows: 20_000 });
  await withClient(shop, (c) =>
    c.query(`CREATE TABLE notes (id int PRIMARY KEY, body text);
             INSERT INTO notes SELECT g, ${Array(10).fill('md5(random()::text)').join(' || ')} FROM generate_series(1, 120000) g;`),
  );
  home = await tempHome();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-jobs-'));
}, 120_000);
afterAll(async () => {
  await home?.cleanup();
  await pg?.cleanup();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

/** Every table's rows as an order-independent digest, for comparing two databases. */
const contents = (conn: ConnInfo) =>
  withClient(conn, async (client) => {
    const tables = await dumpedTables(client);
    const digests: Record<string, string> = {};
    for (const t of tables) {
      // A sum of per-row hashes of the text form: order-independent without sorting 40 MB.
      const { rows } = await client.query<{ d: string }>(`SELECT count(*) || ':' || coalesce(sum(hashtextextended(x::text, 7)), 0) AS d FROM ${qualified(t)} x`);
      digests[`${t.schema}.${t.table}`] = rows[0].d;
    }
    return digests;
  });

const scratchOf = (h: TempHome) => path.join(h.home, 'data', 'scratch');
const entries = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

describe('lifeline backup --jobs 2', () => {
  let manifest: Manifest;

  it('stores a directory-format dump file by file, each with its size, sha256 and plain size', async () => {
    const url = describeConn(shop);
    const backup = await runCli(['--db', url, '--json', 'backup', '--jobs', '2', '--verify', 'none'], { env: home.env });
    expect(backup.exitCode, backup.stderr).toBe(0);
    manifest = JSON.parse(backup.stdout).backup;
    expect(manifest.extra).toMatchObject({ format: 'directory', jobs: 2 });
    expect(manifest.compression).toMatchObject({ algorithm: 'zstd', level: 3 });
    expect(manifest.compression.ratio).toBeGreaterThan(1);
    const names: string[] = manifest.objects.map((o: { name: string }) => o.name);
    expect(names).toContain('dump/toc.dat.zst');
    expect(names.filter((n) => /^dump\/\d+\.dat\.zst$/.test(n))).toHaveLength(5);
    for (const object of manifest.objects.filter((o: { name: string }) => o.name.startsWith('dump/'))) {
      expect(object).toMatchObject({ size: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/), plainSize: expect.any(Number) });
    }
    expect(manifest.tables.map((t: { table: string }) => t.table)).toEqual(['customers', 'notes', 'order_items', 'orders', 'products']);
    // Nothing of the staged dump is left on local disk.
    expect(entries(scratchOf(home))).toEqual([]);
  });

  it('restores with --jobs 2 to equal per-table contents, row counts and fingerprints', async () => {
    const url = describeConn(shop);
    const restore = await runCli(['--db', url, '--json', 'restore', manifest.id, '--into', 'shop_jobs', '--jobs', '2'], { env: home.env });
    expect(restore.exitCode, restore.stderr).toBe(0);
    const checks = JSON.parse(restore.stdout).restore.checks as { name: string; ok: boolean }[];
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.map((c) => c.name)).toContain('table public.notes');
    const copy = pg.conn('shop_jobs');
    expect(await contents(copy)).toEqual(await contents(shop));
    expect(await withClient(copy, async (c) => fingerprintTables(c, await dumpedTables(c)))).toEqual(manifest.tables);
    expect(entries(scratchOf(home))).toEqual([]);
  }, 120_000);

  it('verifies at the restore level with --jobs 2', async () => {
    const verify = await runCli(['--json', 'verify', manifest.id, '--level', 'restore', '--jobs', '2'], { env: home.env });
    expect(verify.exitCode, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout).verification).toMatchObject({ ok: true, passedLevel: 'restore' });
    expect(entries(scratchOf(home))).toEqual([]);
  }, 120_000);

  it('leaves no manifest, no object and an empty staging folder when pg_dump is killed mid-run', async () => {
    const dir = path.join(scratch, 'killed');
    const staging = path.join(scratch, 'killed-staging');
    const repo = await openRepository(dir);
    let killed = false;
    let tablesStarted = 0;
    const attempt = logicalBackup({
      conn: shop,
      repo,
      label: 'daily',
      operator: 'test',
      compression: 'zstd',
      lockWaitTimeoutSeconds: 10,
      jobs: 2,
      stagingDir: staging,
      onProgress: (p) => {
        // pg_dump -j starts the largest table (notes) first; by the third table started, a small
        // table's file is done while notes is still being dumped. (Table messages are never
        // throttled, unlike byte counts, so the kill is not late.)
        if (p.phase === 'dump' && p.message?.startsWith('dumping ') && ++tablesStarted === 3 && !killed) {
          killed = true;
          void ownPgDumps().then((pids) => pids.forEach((pid) => process.kill(pid, 'SIGKILL')));
        }
      },
    });
    await expect(attempt).rejects.toMatchObject({ code: 'BACKUP_FAILED', message: expect.stringMatching(/pg_dump was killed/) });
    expect(killed).toBe(true);
    expect((await repo.listBackups()).backups).toEqual([]);
    expect((fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => !['lifeline.json', 'backups'].includes(f))).toEqual([]);
    expect(entries(staging)).toEqual([]);
  });
});

describe('encrypted parallel backups and restores', () => {
  it.each([
    ['directory format (--jobs 2)', ['--jobs', '2']],
    ['custom format, restored with ranged reads', []],
  ])('%s: no plaintext in the repository; restore --jobs 2 decrypts and matches', async (_, backupArgs) => {
    const other = await tempHome();
    try {
      const key = await runCli(['--json', 'keygen'], { env: other.env });
      expect(key.exitCode, key.stderr).toBe(0);
      const hex = JSON.parse(key.stdout).key as string;
      const env = { ...other.env, LIFELINE_ENCRYPTION_KEY: hex };
      const url = describeConn(shop);
      const canary = (await withClient(shop, (c) => c.query<{ email: string }>('SELECT email FROM customers ORDER BY id LIMIT 1'))).rows[0].email;
      const backup = await runCli(['--db', url, '--json', 'backup', '--compress', 'none', '--verify', 'none', ...backupArgs], { env });
      expect(backup.exitCode, backup.stderr).toBe(0);
      const manifest = JSON.parse(backup.stdout).backup;
      expect(manifest.encryption).toBeDefined();
      const repo = path.join(other.home, 'data', 'repository');
      const plain = (fs.readdirSync(repo, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(repo, f)).isFile() && fs.readFileSync(path.join(repo, f)).includes(canary));
      expect(plain).toEqual([]);
      const database = `shop_enc_${backupArgs.length ? 'dir' : 'custom'}`;
      const restore = await runCli(['--db', url, '--json', 'restore', manifest.id, '--into', database, '--jobs', '2'], { env });
      expect(restore.exitCode, restore.stderr).toBe(0);
      expect(JSON.parse(restore.stdout).restore.checks.filter((c: { ok: boolean }) => !c.ok)).toEqual([]);
      expect(await contents(pg.conn(database))).toEqual(await contents(shop));
      expect(entries(scratchOf(other))).toEqual([]);
    } finally {
      await other.cleanup();
    }
  }, 120_000);
});

describe.runIf(process.getuid?.() === 0)('a staging folder too small for a parallel dump (real small tmpfs)', () => {
  const { dir: small, mounted } = smallTmpfs('lifeline-jobs-tmpfs-', '8m');

  it('refuses before pg_dump starts, naming the free and needed space', async ({ skip }) => {
    if (!mounted()) skip('mount refused');
    const repo = await openRepository(path.join(scratch, 'small-staging'));
    const attempt = logicalBackup({ conn: shop, repo, label: 'daily', operator: 'test', compression: 'zstd', lockWaitTimeoutSeconds: 10, jobs: 2, stagingDir: small });
    await expect(attempt).rejects.toMatchObject({
      code: 'BACKUP_FAILED',
      message: expect.stringMatching(/Not enough local disk to stage a parallel dump in .*: [\d.]+ MiB free, about [\d.]+ MiB needed/),
      hint: expect.stringMatching(/--jobs 1/),
    });
    expect((await repo.listBackups()).backups).toEqual([]);
    expect(fs.readdirSync(small)).toEqual([]);
  });
});

/** pg_dump processes started by this test process (not by other test files running beside it). */
async function ownPgDumps(): Promise<number[]> {
  const { stdout } = await execa('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { reject: false });
  return stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter(([, comm]) => comm === 'pg_dump').map(([pid]) => Number(pid));
}
