import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '../../src/storage/local-store.js';
import { ReadThroughStore } from '../../src/storage/read-through-store.js';
import type { GetOptions } from '../../src/storage/store.js';
import { RecordingStore } from '../helpers/recording-store.js';
import { makeTempDir, readAll } from './helpers.js';

let dir: string;
let origin: RecordingStore;
let copies: string;
let store: ReadThroughStore;
const data = randomBytes(3 * 1024 * 1024 + 17);
const KEY = 'backups/b1/data.dump.zst';

beforeEach(async () => {
  dir = await makeTempDir();
  origin = new RecordingStore(new LocalStore({ root: path.join(dir, 'repo') }), true);
  await origin.put(KEY, data);
  await origin.put('backups/b1/manifest.json', '{"v":1}');
  copies = path.join(dir, 'copies');
  await fs.mkdir(copies);
  store = new ReadThroughStore(origin, copies, new Set([KEY]));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const reads = (key = KEY) => origin.gets.filter((g) => g.key === key).length;
const read = async (options?: GetOptions, key = KEY) => readAll(await store.get(key, options));

describe('ReadThroughStore', () => {
  it('downloads an object read whole once; later reads, whole or ranged, come from the local copy', async () => {
    expect((await read()).equals(data)).toBe(true);
    expect((await read()).equals(data)).toBe(true);
    expect((await read({ start: 1000, end: 2_000_000 })).equals(data.subarray(1000, 2_000_001))).toBe(true);
    expect(reads()).toBe(1);
    expect(store.copied).toEqual([KEY]);
    const [file] = await fs.readdir(copies);
    expect((await fs.stat(path.join(copies, file))).mode & 0o777).toBe(0o600);
  });

  it('never copies what is not listed (locks, manifests, records may change under it)', async () => {
    await read(undefined, 'backups/b1/manifest.json');
    await read(undefined, 'backups/b1/manifest.json');
    expect(reads('backups/b1/manifest.json')).toBe(2);
    expect(await fs.readdir(copies)).toEqual([]);
  });

  it('keeps no copy of a read stopped early, or of a ranged read', async () => {
    const stream = await store.get(KEY);
    for await (const _chunk of stream) break;
    await read({ start: 0, end: 99 });
    expect(store.copied).toEqual([]);
    await expect.poll(() => fs.readdir(copies)).toEqual([]);
    await read();
    expect(reads()).toBe(3);
  });

  it('keeps no copy when the download fails half-way, and the reader sees the failure', async () => {
    const failing = new ReadThroughStore(
      {
        ...origin,
        location: origin.location,
        get: async () =>
          Readable.from(
            (async function* () {
              yield data.subarray(0, 1024);
              throw new Error('connection reset');
            })(),
          ),
      } as unknown as RecordingStore,
      copies,
      new Set([KEY]),
    );
    await expect(readAll(await failing.get(KEY))).rejects.toThrow('connection reset');
    expect(failing.copied).toEqual([]);
    expect(await fs.readdir(copies)).toEqual([]);
  });

  it('still delivers every byte when the copy cannot be written, and keeps reading from the origin', async () => {
    await fs.rm(copies, { recursive: true });
    expect((await read()).equals(data)).toBe(true);
    expect(store.copied).toEqual([]);
    await read();
    expect(reads()).toBe(2);
  });

  it('forgets a copy whose key is written or deleted through it', async () => {
    await read();
    await store.put(KEY, 'replaced');
    expect((await read()).toString()).toBe('replaced');
    await store.delete([KEY]);
    await expect(store.get(KEY)).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
    expect(await fs.readdir(copies)).toEqual([]);
  });
});
