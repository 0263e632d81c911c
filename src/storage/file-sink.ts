import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

/** Bytes written between two background flushes of a large file. */
const FLUSH_EVERY = 32 << 20;

/**
 * Writes into an open file and fsyncs it at the end; the caller closes the handle. A large file
 * is flushed in the background as it grows (fdatasync while the next chunks are written), so the
 * disk works while the dump does and the final fsync waits only for the last few megabytes.
 */
export function fileSink(handle: FileHandle, onFsError: (error: unknown) => void): Writable {
  let unflushed = 0;
  let flushing: Promise<void> | undefined;
  let flushError: Error | undefined;
  const fail = (callback: (error?: Error | null) => void) => (error: Error) => {
    onFsError(error);
    callback(error);
  };
  const write = (bytes: Buffer[], callback: (error?: Error | null) => void) => {
    if (flushError) return fail(callback)(flushError);
    writeFully(handle, bytes).then((written) => {
      unflushed += written;
      if (unflushed >= FLUSH_EVERY && !flushing) {
        unflushed = 0;
        flushing = handle.datasync().then(
          () => void (flushing = undefined),
          (error: Error) => void ((flushError = error), (flushing = undefined)),
        );
      }
      callback();
    }, fail(callback));
  };
  return new Writable({
    highWaterMark: 1 << 20,
    write: (chunk: Buffer, _encoding, callback) => write([chunk], callback),
    // Chunks that queued while a write was in flight go out in one writev: a thread-pool round
    // trip per 64 KiB pipe read costs more CPU than the copy itself.
    writev: (chunks, callback) => write(chunks.map((c) => c.chunk as Buffer), callback),
    final(callback) {
      Promise.resolve(flushing)
        .then(() => {
          if (flushError) throw flushError;
          return handle.sync();
        })
        .then(() => callback(), fail(callback));
    },
  });
}

export async function writeFully(handle: FileHandle, buffers: Buffer[]): Promise<number> {
  let total = 0;
  let pending = buffers;
  while (pending.length) {
    const { bytesWritten } = await handle.writev(pending);
    total += bytesWritten;
    pending = unwritten(pending, bytesWritten);
  }
  return total;
}

/** What is left of `buffers` after the first `written` bytes went out. */
export function unwritten(buffers: Buffer[], written: number): Buffer[] {
  let skip = written;
  let i = 0;
  while (i < buffers.length && skip >= buffers[i].length) skip -= buffers[i++].length;
  if (i === buffers.length) return [];
  return [buffers[i].subarray(skip), ...buffers.slice(i + 1)];
}
