import readline from 'node:readline';
import { Transform, type Readable } from 'node:stream';
import type { Repository } from '../../storage/repository.js';
import type { PutResult } from '../../storage/store.js';
import { chunkCollector } from '../../young-garbage.js';

/**
 * The last stage before the store: counts the bytes as they pass and, at the end, fails the stream
 * unless `settle` says the producers (pg_dump / pg_basebackup and the codec) all succeeded, so the
 * store discards the object instead of publishing a truncated one.
 */
export function completionGuard(options: { onBytes: (stored: number) => void; settle: () => Promise<Error | null> }): Transform {
  let stored = 0;
  const collect = chunkCollector();
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      stored += chunk.length;
      options.onBytes(stored);
      callback(null, chunk);
      collect(chunk.length);
    },
    flush(callback) {
      options.settle().then(
        (error) => callback(error),
        (error: Error) => callback(error),
      );
    },
  });
}

/** Keeps the last `size` lines of a tool's stderr (for the error message) and shows each one. */
export function stderrTail(stream: Readable, onLine?: (line: string) => void, size = 20): string[] {
  const tail: string[] = [];
  readline.createInterface({ input: stream }).on('line', (line) => {
    tail.push(line);
    if (tail.length > size) tail.shift();
    onLine?.(line);
  });
  return tail;
}

/**
 * Stores the guarded stream as backup object `name` (encrypted when the repository has a key);
 * when the store fails first (full disk, Ctrl-C) the producer is killed so it does not write on
 * into a closed pipe, and nothing is left running.
 */
export async function storeFromProducer(options: {
  repo: Repository;
  id: string;
  name: string;
  body: Transform;
  producer: { kill(): boolean } & PromiseLike<unknown>;
  piping: Promise<unknown>;
  /** An upper bound of the object's size, where one is known (an S3 upload sizes its parts by it). */
  sizeHint?: number;
  signal?: AbortSignal;
}): Promise<PutResult> {
  try {
    return await options.repo.putBackupObject(options.id, options.name, options.body, { signal: options.signal, sizeHint: options.sizeHint });
  } catch (error) {
    options.producer.kill();
    await Promise.allSettled([options.producer, options.piping]);
    throw error;
  } finally {
    await options.piping;
  }
}
