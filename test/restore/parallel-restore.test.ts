import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnInfo } from '../../src/postgres/conninfo.js';
import { withClient } from '../../src/postgres/client.js';
import { restoreBackup } from '../../src/engine/restore/restore.js';
import { RANGE_CHUNK_BYTES } from '../../src/engine/restore/ranged-read.js';
import type { Repository } from '../../src/storage/repository.js';
import type { Manifest } from '../../src/storage/manifest.js';
import type { TestCluster } from '../helpers/cluster.js';
import { smallTmpfs } from '../helpers/tmpfs.js';
import type { RecordingStore } from '../helpers/recording-store.js';
import { s3Backup } from '../helpers/s3-backup.js';

let pg: TestCluster;
let shop: ConnInfo;
let scratch: string;
let store: RecordingStore;
let repo: Repository;
let manifest: Manifest;
let cleanup: (() => Promise<void>) | undefined;

beforeAll(async () => {
  // ~40 MB of random hex text: about 20 MB stored with zstd, so a few 8 MiB ranges. Not marked
  // remote: this exercises the ranged reads a restore from S3 makes when it has no room for a
  // local copy of the backup (s3-local-copy.test.ts covers the copy).
  ({ pg, shop, scratch, store, repo, manifest, cleanup } = await s3Backup({ prefix: 'prestore', notesRows: 120_000 }));
}, 180_000);
afterAll(() => cleanup?.());

const databaseExists = (name: string) =>
  withClient(pg.conn('postgres'), async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);
const rangedReads = () => store.gets.filter((g) => g.start !== undefined && g.key.endsWith('data.dump.zst'));

describe('restore --jobs 2 of a custom-format backup in S3', () => {
  it('fetches the dump in parallel ranged reads into a staged file, restores with pg_restore -j and removes the staging', async () => {
    const dump = manifest.objects.find((o) => o.name === 'data.dump.zst')!;
    expect(dump.size).toBeGreaterThan(2 * RANGE_CHUNK_BYTES);
    const staging = path.join(scratch, 'staging');
    store.gets.length = 0;
    const result = await restoreBackup({ repo, manifest, conn: shop, mode: 'into', into: 'shop_parallel', jobs: 2, stagingDir: staging });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.checks.map((c) => c.name)).toContain('table public.notes');
    const ranges = rangedReads();
    expect(ranges.map((r) => r.start).sort((a, b) => a! - b!)).toEqual(Array.from({ length: Math.ceil(dump.size / RANGE_CHUNK_BYTES) }, (_, i) => i * RANGE_CHUNK_BYTES));
    expect(Math.max(...ranges.map((r) => r.end!))).toBe(dump.size - 1);
    expect(fs.readdirSync(staging)).toEqual([]);
  });

  it('removes the staged file when interrupted', async () => {
    const staging = path.join(scratch, 'aborted');
    const controller = new AbortController();
    const attempt = restoreBackup({
      repo,
      manifest,
      conn: shop,
      mode: 'into',
      into: 'shop_aborted',
      jobs: 2,
      stagingDir: staging,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'stage' && (p.bytes ?? 0) > 0) controller.abort();
      },
    });
    await expect(attempt).rejects.toMatchObject({ code: 'ABORTED' });
    expect(fs.readdirSync(staging)).toEqual([]);
    expect(await databaseExists('shop_aborted')).toBe(false);
  });
});

describe.runIf(process.getuid?.() === 0)('restore --jobs 2 with too little staging space (real small tmpfs)', () => {
  const { dir: small, mounted } = smallTmpfs('lifeline-prestore-tmpfs-', '8m');

  it('refuses with the free and needed space before downloading anything into it', async ({ skip }) => {
    if (!mounted()) skip('mount refused');
    store.gets.length = 0;
    const attempt = restoreBackup({ repo, manifest, conn: shop, mode: 'into', into: 'shop_small', jobs: 2, stagingDir: small });
    await expect(attempt).rejects.toMatchObject({
      code: 'RESTORE_REFUSED',
      message: expect.stringMatching(/Not enough local disk to stage backup .* in .*: [\d.]+ MiB free, about [\d.]+ MiB needed/),
      hint: expect.stringMatching(/--jobs 1/),
    });
    expect(rangedReads()).toEqual([]);
    expect(fs.readdirSync(small)).toEqual([]);
    expect(await databaseExists('shop_small')).toBe(false);
  });
});
