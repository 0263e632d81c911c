import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTarExtract } from '../../src/engine/pitr/tar-extract.js';

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-tar-extract-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

it('extracts a tar stream', async () => {
  const src = path.join(root, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'PG_VERSION'), '15\n');
  const { stdout } = await execa('tar', ['-c', '-C', src, '.'], { encoding: 'buffer' });
  const dest = path.join(root, 'ok');
  fs.mkdirSync(dest);
  const tar = startTarExtract(dest);
  await pipeline(Readable.from([Buffer.from(stdout)]), tar.sink);
  expect((await tar.result).ok).toBe(true);
  expect(fs.readFileSync(path.join(dest, 'PG_VERSION'), 'utf8')).toBe('15\n');
});

it('when tar leaves early, reads the stream to its end and reports tar, instead of failing the pipeline with EPIPE', async () => {
  // tar cannot change into a missing folder and exits at the first member: like a full disk or a
  // damaged archive, it stops taking input while the caller is still hashing what it streams.
  const src = path.join(root, 'big');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'base'), randomBytes(8 << 20));
  const archive = Buffer.from((await execa('tar', ['-c', '-C', src, '.'], { encoding: 'buffer' })).stdout);
  const tar = startTarExtract(path.join(root, 'missing'));
  let read = 0;
  const source = Readable.from(chunksOf(archive, 64 * 1024)).on('data', (chunk: Buffer) => (read += chunk.length));
  await pipeline(source, tar.sink);
  const result = await tar.result;
  expect(result.ok).toBe(false);
  expect(result.detail).toMatch(/missing: Cannot open|not recoverable/);
  expect(read).toBe(archive.length);
});

function* chunksOf(bytes: Buffer, size: number) {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}
