import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { HEADER_SIZE, TAG_SIZE } from '../../src/storage/crypto/format.js';
import { generateKey, parseKey, type Keyring } from '../../src/storage/crypto/keys.js';
import { openBuffer, openStream } from '../../src/storage/crypto/open.js';
import { sealBuffer, sealStream } from '../../src/storage/crypto/seal.js';

/* The chunked format itself: every way stored bytes can be cut, moved or changed is caught. */

const key = parseKey(generateKey(), 'test key');
const keyring: Keyring = { current: key, keys: [key] };
const CHUNK_LOG2 = 4; // 16-byte chunks: boundaries are cheap to reach
const CHUNK = 2 ** CHUNK_LOG2;
const SEALED = CHUNK + TAG_SIZE;
const open = (stored: Buffer, encrypted?: boolean) => openBuffer(stored, { keyring, label: 'backups/x/data.dump.zst', encrypted });

/** Streams `data` in pieces of random sizes through a transform. */
async function streamThrough(data: Buffer, transform: NodeJS.ReadWriteStream): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const size = 1 + Math.floor(Math.random() * 70_000);
    pieces.push(data.subarray(at, at + size));
    at += size;
  }
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), transform, new Writable({ write: (chunk, _e, cb) => (out.push(chunk), cb()) }));
  return Buffer.concat(out);
}

describe('encrypted object format', () => {
  it('round-trips empty input, short input and exact multiples of the chunk size', () => {
    for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5]) {
      const plain = randomBytes(size);
      const stored = sealBuffer(key, plain, { chunkLog2: CHUNK_LOG2 });
      const chunks = Math.max(1, Math.ceil(size / CHUNK));
      expect(stored.length, `size ${size}`).toBe(HEADER_SIZE + size + chunks * TAG_SIZE);
      expect(open(stored).equals(plain), `size ${size}`).toBe(true);
    }
  });

  it('streams megabytes in bounded pieces (1 MiB chunks) with the same result as one buffer', async () => {
    for (const size of [2 * 1024 * 1024, 3 * 1024 * 1024 + 12345]) {
      const plain = randomBytes(size);
      const stored = await streamThrough(plain, sealStream(key));
      expect(stored.length).toBe(HEADER_SIZE + size + Math.ceil(size / 2 ** 20) * TAG_SIZE);
      expect((await streamThrough(stored, openStream({ keyring, label: 'x' }))).equals(plain)).toBe(true);
    }
  });

  it('never stores the plain bytes, and two sealings of the same input differ', () => {
    const plain = Buffer.from('secret-value-4242 '.repeat(100));
    const a = sealBuffer(key, plain);
    const b = sealBuffer(key, plain);
    expect(a.includes(Buffer.from('secret-value-4242'))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });

  const plain = randomBytes(4 * CHUNK); // four full chunks: the last is final
  const stored = sealBuffer(key, plain, { chunkLog2: CHUNK_LOG2 });
  const chunkAt = (i: number) => stored.subarray(HEADER_SIZE + i * SEALED, HEADER_SIZE + (i + 1) * SEALED);

  it('detects a flipped bit anywhere, naming the chunk', () => {
    for (const at of [HEADER_SIZE + 3, HEADER_SIZE + SEALED + 20, stored.length - 1]) {
      const damaged = Buffer.from(stored);
      damaged[at] ^= 0x01;
      const chunk = Math.floor((at - HEADER_SIZE) / SEALED);
      expect(() => open(damaged)).toThrow(expect.objectContaining({ code: 'DECRYPT_FAILED', message: expect.stringContaining(`backups/x/data.dump.zst: chunk ${chunk} failed authentication`) }));
    }
    const header = Buffer.from(stored);
    header[20] ^= 0x80;
    expect(() => open(header)).toThrow(expect.objectContaining({ code: 'DECRYPT_FAILED', message: expect.stringContaining('damaged encryption header') }));
  });

  it('detects truncation at a chunk boundary, inside a chunk and inside the header', () => {
    expect(() => open(stored.subarray(0, HEADER_SIZE + 3 * SEALED))).toThrow(expect.objectContaining({ code: 'DECRYPT_FAILED', message: expect.stringMatching(/chunk 2 failed authentication \(the object may be truncated/) }));
    expect(() => open(stored.subarray(0, HEADER_SIZE + 2 * SEALED + 7))).toThrow(expect.objectContaining({ code: 'DECRYPT_FAILED', message: expect.stringContaining('ends inside chunk 2') }));
    expect(() => open(stored.subarray(0, HEADER_SIZE + 2 * SEALED + 20))).toThrow(expect.objectContaining({ code: 'DECRYPT_FAILED' }));
    expect(() => open(stored.subarray(0, HEADER_SIZE))).toThrow(expect.objectContaining({ message: expect.stringContaining('ends inside chunk 0') }));
    expect(() => open(stored.subarray(0, 20))).toThrow(expect.objectContaining({ message: expect.stringContaining('inside its encryption header') }));
  });

  it('detects swapped chunks, appended bytes and a chunk from another object', () => {
    const swapped = Buffer.concat([stored.subarray(0, HEADER_SIZE), chunkAt(1), chunkAt(0), chunkAt(2), chunkAt(3)]);
    expect(() => open(swapped)).toThrow(expect.objectContaining({ message: expect.stringContaining('chunk 0 failed authentication') }));
    expect(() => open(Buffer.concat([stored, Buffer.from('x')]))).toThrow(expect.objectContaining({ message: expect.stringContaining('chunk 3 failed authentication') }));
    expect(() => open(Buffer.concat([stored, chunkAt(3)]))).toThrow(expect.objectContaining({ code: 'DECRYPT_FAILED' }));
    const other = sealBuffer(key, plain, { chunkLog2: CHUNK_LOG2 });
    const spliced = Buffer.concat([stored.subarray(0, HEADER_SIZE + SEALED), other.subarray(HEADER_SIZE + SEALED)]);
    expect(() => open(spliced)).toThrow(expect.objectContaining({ message: expect.stringContaining('chunk 1 failed authentication') }));
  });

  it('passes unencrypted objects through, unless they must be encrypted', () => {
    const zstd = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]);
    expect(open(zstd).equals(zstd)).toBe(true);
    expect(open(Buffer.from('ab')).toString()).toBe('ab');
    expect(open(Buffer.alloc(0)).length).toBe(0);
    expect(() => open(zstd, true)).toThrow(expect.objectContaining({ code: 'DECRYPT_FAILED', message: expect.stringContaining('is not encrypted, but its manifest says it is') }));
  });

  it('names the needed key when it is missing or another one is loaded', () => {
    const other = parseKey(generateKey(), 'LIFELINE_ENCRYPTION_KEY');
    expect(() => openBuffer(stored, { keyring: { keys: [] }, label: 'wal/00000001/x.zst' })).toThrow(
      expect.objectContaining({ code: 'KEY_MISSING', message: `wal/00000001/x.zst is encrypted with key ${key.fingerprint}, and no encryption key is set` }),
    );
    expect(() => openBuffer(stored, { keyring: { current: other, keys: [other] }, label: 'b' })).toThrow(
      expect.objectContaining({ code: 'KEY_WRONG', message: `b was encrypted with key ${key.fingerprint}; LIFELINE_ENCRYPTION_KEY is ${other.fingerprint}`, hint: expect.stringContaining('Add the old key') }),
    );
  });
});
