import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { chunkCollector } from '../young-garbage.js';

/**
 * A pass-through that counts and hashes (sha256) the bytes of a stored object as they are read,
 * so a reader can prove they are the bytes its manifest entry names.
 */
export function hashMeter(onChunk?: (bytes: number, total: number) => void): { stream: Transform; readonly size: number; digest(): string } {
  const hash = createHash('sha256');
  let size = 0;
  const collect = chunkCollector();
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      hash.update(chunk);
      onChunk?.(chunk.length, size);
      callback(null, chunk);
      collect(chunk.length);
    },
  });
  return {
    stream,
    get size() {
      return size;
    },
    digest: () => hash.digest('hex'),
  };
}
