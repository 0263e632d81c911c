import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cluster.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { walPush } from '../../src/engine/wal/push.js';
import { walFetch } from '../../src/engine/wal/fetch.js';
import { decodeTrailer, WAL_COMPRESSIONS, WAL_EXTENSIONS } from '../../src/engine/wal/object-format.js';

let root: string;
const SEGMENT = '000000010000000A000000FE';
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** Like a WAL segment: some busy pages, then zeros. */
const walBytes = () => Buffer.concat([randomBytes(100_000), Buffer.alloc(1_000_000)]);

beforeAll(async () => {
  root = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'lifeline-wal-codecs-'));
});
afterAll(async () => {
  await fs.promises.rm(root, { recursive: true, force: true });
});

function walFile(dir: string, bytes: Buffer): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, SEGMENT);
  fs.writeFileSync(file, bytes);
  return file;
}

const STOCK = { zstd: 'zstd -dc', lz4: 'lz4 -dc', gzip: 'gzip -dc' };

describe('archived WAL in every codec', () => {
  it.each(WAL_COMPRESSIONS)('%s: a stream the stock tool reads (skipping the trailer), fetched back verified', async (compression) => {
    const store = new LocalStore({ root: path.join(root, `repo-${compression}`) });
    const bytes = walBytes();
    const pushed = await walPush({ store, file: walFile(path.join(root, `pg-${compression}`), bytes), compression });
    expect(pushed.key).toBe(`wal/00000001/${SEGMENT}${WAL_EXTENSIONS[compression]}`);
    const object = path.join(store.location, pushed.key);
    expect(decodeTrailer(compression, fs.readFileSync(object))).toEqual({ sha256: sha(bytes), size: bytes.length });
    const stock = await execa('bash', ['-c', `${STOCK[compression]} "$1"`, '_', object], { encoding: 'buffer' });
    expect(Buffer.from(stock.stdout).equals(bytes)).toBe(true);
    const dest = path.join(root, `out-${compression}`);
    expect(await walFetch({ store, name: SEGMENT, dest })).toMatchObject({ found: true, sha256: sha(bytes) });
    expect(fs.readFileSync(dest).equals(bytes)).toBe(true);
  });

  it('wal-push --compress takes levels, and none keeps the bytes in an uncompressed gzip container', async () => {
    const bytes = walBytes();
    const push = (spec: string, repo: string) => runCli(['wal-push', '--repo', path.join(root, repo), '--compress', spec, '--json', walFile(path.join(root, `pg-${repo}`), bytes)]);
    const none = await push('none', 'cli-none');
    expect(none.exitCode, none.stderr).toBe(0);
    const stored = JSON.parse(none.stdout).walPush;
    expect(stored.key).toMatch(/\.gz$/);
    expect(stored.storedSize).toBeGreaterThan(bytes.length);
    const lz4 = await push('lz4:9', 'cli-lz4');
    expect(lz4.exitCode, lz4.stderr).toBe(0);
    expect(JSON.parse(lz4.stdout).walPush.storedSize).toBeLessThan(bytes.length / 5);
    const bad = await push('zstd:42', 'cli-bad');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/zstd levels go from 1 to 19, not 42/);
  });
});
