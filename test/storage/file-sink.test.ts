import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileHandle } from 'node:fs/promises';
import { fileSink, unwritten, writeFully } from '../../src/storage/file-sink.js';
import { makeTempDir } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const text = (buffers: Buffer[]) => Buffer.concat(buffers).toString();

describe('unwritten', () => {
  const buffers = [Buffer.from('abc'), Buffer.from('defg'), Buffer.from('h')];
  it('keeps what a short write left, across buffer boundaries', () => {
    expect(text(unwritten(buffers, 0))).toBe('abcdefgh');
    expect(text(unwritten(buffers, 2))).toBe('cdefgh');
    expect(text(unwritten(buffers, 3))).toBe('defgh');
    expect(text(unwritten(buffers, 5))).toBe('fgh');
    expect(text(unwritten(buffers, 7))).toBe('h');
    expect(unwritten(buffers, 8)).toEqual([]);
  });
});

/** A file handle whose writev takes at most `limit` bytes per call, as a short write does. */
function shortWriter(limit: number) {
  const written: Buffer[] = [];
  let calls = 0;
  const handle = {
    async writev(buffers: Buffer[]) {
      calls++;
      const all = Buffer.concat(buffers).subarray(0, limit);
      written.push(Buffer.from(all));
      return { bytesWritten: all.length, buffers };
    },
  } as unknown as FileHandle;
  return { handle, written, calls: () => calls };
}

describe('writeFully', () => {
  it('loops over short writes until every byte is out, in order', async () => {
    const { handle, written, calls } = shortWriter(5);
    const total = await writeFully(handle, [Buffer.from('0123456'), Buffer.from('789'), Buffer.from('abcdef')]);
    expect(total).toBe(16);
    expect(text(written)).toBe('0123456789abcdef');
    expect(calls()).toBe(4);
  });
});

describe('fileSink', () => {
  it('writes a fast stream of small chunks exactly, in fewer writes than chunks', async () => {
    const chunks = Array.from({ length: 400 }, () => randomBytes(64 * 1024));
    const file = path.join(dir, 'out');
    const handle = await fs.open(file, 'w');
    let writes = 0;
    const counting = new Proxy(handle, {
      get(target, key) {
        const value = Reflect.get(target, key, target);
        if (key === 'writev') return (...args: Parameters<FileHandle['writev']>) => (writes++, target.writev(...args));
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const errors: unknown[] = [];
    await pipeline(Readable.from(chunks), fileSink(counting, (error) => errors.push(error)));
    await handle.close();
    expect(errors).toEqual([]);
    expect((await fs.readFile(file)).equals(Buffer.concat(chunks))).toBe(true);
    // Chunks that queue while a write is in flight go out together.
    expect(writes).toBeLessThan(chunks.length);
  });
});
