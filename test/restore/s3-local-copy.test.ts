import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnInfo } from '../../src/postgres/conninfo.js';
import { withClient } from '../../src/postgres/client.js';
import { restoreBackup } from '../../src/engine/restore/restore.js';
import { verifyBackup } from '../../src/engine/verify/verify.js';
import type { Repository } from '../../src/storage/repository.js';
import type { Manifest } from '../../src/storage/manifest.js';
import type { RecordingStore } from '../helpers/recording-store.js';
import { s3Backup } from '../helpers/s3-backup.js';
import { smallTmpfs } from '../helpers/tmpfs.js';

/*
 * A restore from S3 checks the backup before touching anything and then restores it. Where the
 * restore would wait for a second download (staging for pg_restore -j, verify's archive read),
 * the check's download is kept on local disk and read instead; a streamed restore downloads
 * again while pg_restore works.
 */

let shop: ConnInfo;
let scratch: string;
let store: RecordingStore;
let repo: Repository;
let manifest: Manifest;
let cleanup: (() => Promise<void>) | undefined;

beforeAll(async () => {
  // ~12 MB of random hex text: a few MB stored, more than the small tmpfs below holds.
  ({ shop, scratch, store, repo, manifest, cleanup } = await s3Backup({ prefix: 's3copy', notesRows: 36_000, remote: true }));
}, 180_000);
afterAll(() => cleanup?.());

const dataKey = () => repo.backupKey(manifest.id, 'data.dump.zst');
const downloads = () => store.gets.filter((g) => g.key === dataKey());
const notes = (database: string) => withClient({ ...shop, database }, async (c) => Number((await c.query('SELECT count(*) AS n FROM notes')).rows[0].n));

describe('restores and verifications from S3 that would wait for a second download read the backup once', () => {
  it('restore --into (streamed): the restore downloads again while pg_restore works, and no local copy is made', async () => {
    const staging = path.join(scratch, 'into');
    store.gets.length = 0;
    const result = await restoreBackup({ repo, manifest, conn: shop, mode: 'into', into: 'shop_streamed', stagingDir: staging });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(await notes('shop_streamed')).toBe(36_000);
    // The check, the table of contents (read from the dump's head) and the restore.
    expect(downloads()).toHaveLength(3);
    expect(fs.existsSync(staging) ? fs.readdirSync(staging) : []).toEqual([]);
  });

  it('restore --jobs 2: one download, checked, its table of contents read and staged from the local copy, which is removed after', async () => {
    const staging = path.join(scratch, 'jobs');
    store.gets.length = 0;
    const messages: string[] = [];
    const result = await restoreBackup({ repo, manifest, conn: shop, mode: 'into', into: 'shop_jobs', jobs: 2, stagingDir: staging, onProgress: (p) => p.message && messages.push(p.message) });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(await notes('shop_jobs')).toBe(36_000);
    expect(messages.join('\n')).not.toMatch(/read from .* twice/);
    expect(downloads()).toEqual([{ key: dataKey() }]);
    expect(fs.readdirSync(staging)).toEqual([]);
  });

  it('a local copy changed after the check fails the restore, like an object changed in the bucket; nothing is left', async () => {
    const staging = path.join(scratch, 'tampered');
    const tamper = () => {
      const [dir] = fs.readdirSync(staging).filter((name) => name.startsWith('copies-'));
      const [file] = fs.readdirSync(path.join(staging, dir)).map((name) => path.join(staging, dir, name)).filter((f) => fs.statSync(f).size > 1024 * 1024);
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, Buffer.from('tampered'), 0, 8, 1024 * 1024);
      fs.closeSync(fd);
    };
    // Between the check and the staging that reads the copy.
    const onProgress = (p: { phase: string; message?: string }) => p.phase === 'stage' && p.message && tamper();
    const attempt = restoreBackup({ repo, manifest, conn: shop, mode: 'into', into: 'shop_tampered', jobs: 2, stagingDir: staging, onProgress });
    await expect(attempt).rejects.toMatchObject({ code: 'RESTORE_FAILED', message: expect.stringMatching(/data\.dump\.zst changed in the repository during the restore/) });
    const exists = await withClient(shop, async (c) => (await c.query("SELECT 1 FROM pg_database WHERE datname = 'shop_tampered'")).rowCount);
    expect(exists).toBe(0);
    expect(fs.readdirSync(staging)).toEqual([]);
  });

  it('verify --level archive: one download for the integrity and archive levels', async () => {
    store.gets.length = 0;
    const report = await verifyBackup({ repo, manifest, level: 'archive', workDir: path.join(scratch, 'verify'), record: false });
    expect(report.ok).toBe(true);
    expect(downloads()).toEqual([{ key: dataKey() }]);
  });
});

describe.runIf(process.getuid?.() === 0)('without room for the copy (real small tmpfs)', () => {
  const { dir: small, mounted } = smallTmpfs('lifeline-s3copy-tmpfs-', '2m');

  it('verify --level archive says so, reads the bucket twice and still verifies', async ({ skip }) => {
    if (!mounted()) skip('mount refused');
    expect(manifest.objects.find((o) => o.name === 'data.dump.zst')!.size).toBeGreaterThan(2 * 1024 * 1024);
    store.gets.length = 0;
    const messages: string[] = [];
    const report = await verifyBackup({ repo, manifest, level: 'archive', workDir: small, record: false, onProgress: (p) => p.message && messages.push(p.message) });
    expect(report.ok).toBe(true);
    expect(messages.join('\n')).toMatch(/free in .*, about [\d.]+ MiB wanted for a local copy: backup \S+ is read from s3:\/\/\S+ twice \(checked, then read by pg_restore\)/);
    expect(downloads()).toHaveLength(2);
    expect(fs.readdirSync(small)).toEqual([]);
  });
});
