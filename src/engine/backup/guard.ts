import readline from 'node:readline';
import { Transform, type Readable } from 'node:stream';

/**
 * The last stage before the store: counts the bytes as they pass and, at the end, fails the stream
 * unless `settle` says the producers (pg_dump / pg_basebackup and the codec) all succeeded, so the
 * store discards the object instead of publishing a truncated one.
 */
export function completionGuard(options: { onBytes: (stored: number) => void; settle: () => Promise<Error | null> }): Transform {
  let stored = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      stored += chunk.length;
      options.onBytes(stored);
      callback(null, chunk);
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
