import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cluster.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { walPush } from '../../src/engine/wal/push.js';
import { walFetch } from '../../src/engine/wal/fetch.js';
import { readCatalog } from '../../src/engine/wal/catalog.js';
import { decodeTrailer } from '../../src/engine/wal/object-format.js';
import { parseTargetTime } from '../../src/engine/pitr/time.js';
import { parseWalName, segmentName, segmentNumber } from '../../src/engine/wal/names.js';

let root: string;
const SEGMENT = '000000010000000A000000FE';

beforeAll(async () => {
  root = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'lifeline-wal-'));
});
afterAll(async () => {
  await fs.promises.rm(root, { recursive: true, force: true });
});

function walFile(dir: string, name: string, bytes: Buffer): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('wal-push / wal-fetch (engine)', () => {
  it('stores a standard compressed stream with a checksum trailer and fetches it back verified', async () => {
    for (const compression of ['zstd', 'gzip'] as const) {
      const store = new LocalStore({ root: path.join(root, `repo-${compression}`) });
      const bytes = Buffer.concat([randomBytes(100_000), Buffer.alloc(1_000_000)]);
      const file = walFile(path.join(root, `pg-${compression}`), SEGMENT, bytes);
      const pushed = await walPush({ store, file, compression });
      expect(pushed).toMatchObject({ created: true, sha256: sha(bytes), size: bytes.length });
      expect(pushed.key).toBe(`wal/00000001/${SEGMENT}${compression === 'zstd' ? '.zst' : '.gz'}`);
      const stored = fs.readFileSync(path.join(store.location, pushed.key));
      expect(decodeTrailer(compression, stored)).toEqual({ sha256: sha(bytes), size: bytes.length });

      const dest = path.join(root, `out-${compression}`);
      const fetched = await walFetch({ store, name: SEGMENT, dest });
      expect(fetched).toMatchObject({ found: true, sha256: sha(bytes) });
      expect(fs.readFileSync(dest).equals(bytes)).toBe(true);
    }
  });

  it('push is idempotent for the same content and refuses different content', async () => {
    const store = new LocalStore({ root: path.join(root, 'repo-idem') });
    const bytes = randomBytes(50_000);
    const file = walFile(path.join(root, 'pg-idem'), '00000002.history', bytes);
    expect((await walPush({ store, file })).created).toBe(true);
    expect(await walPush({ store, file })).toMatchObject({ created: false, sha256: sha(bytes) });
    fs.writeFileSync(file, randomBytes(50_000));
    await expect(walPush({ store, file })).rejects.toMatchObject({ code: 'WAL_CONFLICT' });
  });

  it('fetch says "not found" only when the repository answers; corrupt objects fail hard', async () => {
    const store = new LocalStore({ root: path.join(root, 'repo-fetch') });
    const bytes = randomBytes(20_000);
    const pushed = await walPush({ store, file: walFile(path.join(root, 'pg-fetch'), SEGMENT, bytes) });
    expect(await walFetch({ store, name: '00000009.history', dest: path.join(root, 'x') })).toEqual({ found: false, name: '00000009.history' });

    const missingRepo = new LocalStore({ root: path.join(root, 'no-such-repo') });
    await expect(walFetch({ store: missingRepo, name: SEGMENT, dest: path.join(root, 'y'), attempts: 2, retryDelayMs: 1 })).rejects.toMatchObject({ code: 'REPO_READ' });

    // Flip one byte of the recorded sha256: the fetched bytes no longer prove themselves.
    const object = path.join(store.location, pushed.key);
    const stored = fs.readFileSync(object);
    stored[stored.length - 20] ^= 0xff;
    fs.writeFileSync(object, stored);
    const dest = path.join(root, 'corrupt-out');
    await expect(walFetch({ store, name: SEGMENT, dest, attempts: 1 })).rejects.toMatchObject({ code: 'REPO_CORRUPT' });
    expect(fs.existsSync(dest)).toBe(false);
  });

  it('names, segment arithmetic and the catalog', async () => {
    expect(parseWalName(SEGMENT)).toMatchObject({ kind: 'segment', timeline: 1, log: 10, seg: 254 });
    expect(parseWalName('00000003.history')).toMatchObject({ kind: 'history', timeline: 3 });
    expect(parseWalName('000000010000000000000002.00000028.backup')).toMatchObject({ kind: 'backup' });
    expect(parseWalName('000000010000000000000002.partial')).toMatchObject({ kind: 'partial' });
    expect(parseWalName('RECOVERYXLOG')).toBeUndefined();
    const n = segmentNumber({ log: 10, seg: 255 });
    expect(segmentName(1, n + 1)).toBe('000000010000000B00000000');
    const store = new LocalStore({ root: path.join(root, 'repo-idem') });
    const catalog = await readCatalog(store);
    expect(catalog.histories.has(2)).toBe(true);
  });
});

describe('wal-push / wal-fetch (CLI exit codes PostgreSQL relies on)', () => {
  it('push 0, fetch 0 / 1 when absent / 126 on a storage error, usage errors are fatal for fetch', async () => {
    const repo = path.join(root, 'cli-repo');
    const dir = path.join(root, 'cli-pg');
    const bytes = randomBytes(10_000);
    walFile(dir, SEGMENT, bytes);
    const push = await runCli(['wal-push', '--repo', repo, SEGMENT], { cwd: dir });
    expect(push.exitCode, push.stderr).toBe(0);
    expect((await runCli(['wal-push', '--repo', repo, SEGMENT], { cwd: dir })).exitCode).toBe(0);

    const fetched = await runCli(['wal-fetch', '--repo', repo, SEGMENT, 'pg_wal/RECOVERYXLOG'], { cwd: (fs.mkdirSync(path.join(dir, 'pg_wal'), { recursive: true }), dir) });
    expect(fetched.exitCode, fetched.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'pg_wal/RECOVERYXLOG')).equals(bytes)).toBe(true);

    const absent = await runCli(['wal-fetch', '--repo', repo, '00000002.history', 'pg_wal/RECOVERYHISTORY'], { cwd: dir });
    expect(absent.exitCode).toBe(1);
    expect(absent.stderr).toBe('');

    // A repository path under a regular file: not "absent", a storage error that must abort recovery.
    const file = path.join(root, 'plain-file');
    fs.writeFileSync(file, 'x');
    const broken = await runCli(['wal-fetch', '--repo', path.join(file, 'repo'), SEGMENT, 'pg_wal/X'], { cwd: dir });
    expect(broken.exitCode).toBe(126);
    expect(broken.stderr).toMatch(/No lifeline repository/);

    expect((await runCli(['wal-fetch', '--repo', repo, 'not-a-wal-name', 'x'], { cwd: dir })).exitCode).toBe(126);
    expect((await runCli(['wal-push', '--repo', repo, 'pg_wal/nonsense'], { cwd: dir })).exitCode).toBe(2);
    const help = await runCli(['wal-fetch', '--help']);
    expect(help.stdout).toMatch(/restore_command/);
  });
});

describe('strict target times', () => {
  it('reads the documented forms and refuses the rest with exit code 2', async () => {
    expect(parseTargetTime('2025-02-23 10:00:00', 'Europe/Berlin').utc).toBe('2025-02-23T09:00:00Z');
    expect(parseTargetTime('2025-07-23 10:00:00.123456', 'Europe/Berlin').postgres).toBe('2025-07-23 08:00:00.123456+00');
    expect(parseTargetTime('2025-02-23T10:00:00+02:00', 'UTC').utc).toBe('2025-02-23T08:00:00Z');
    expect(parseTargetTime('2025-02-23T10:00:00Z', 'Asia/Tokyo').local).toBe('2025-02-23 19:00:00 Asia/Tokyo (+09:00)');
    for (const bad of ['2025-02-30 10:00:00', '10:00', 'yesterday', '2025-03-30 02:30:00']) {
      expect(() => parseTargetTime(bad, 'Europe/Berlin'), bad).toThrow(/Cannot use/);
    }
    for (const bad of ['2025-02-30 10:00:00', '10:00', 'yesterday']) {
      const result = await runCli(['pitr', '--to', bad, '--data-dir', path.join(root, 'never'), '--tz', 'UTC']);
      expect(result.exitCode, bad).toBe(2);
      expect(result.stderr).toMatch(/Accepted forms/);
    }
    expect((await runCli(['pitr', '--to', '2025-02-23 10:00:00', '--tz', 'Mars/Olympus', '--data-dir', path.join(root, 'never')])).exitCode).toBe(2);
    expect(fs.existsSync(path.join(root, 'never'))).toBe(false);
  });
});
