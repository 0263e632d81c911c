import { Writable } from 'node:stream';

/**
 * A writable that forwards to `target` (a child process's stdin) until the target stops taking
 * input (the process exited, or its stream errored), then keeps accepting and dropping. A reader
 * that hashes what it streams can then finish the hash whatever the process did, and so tell a
 * damaged object from a process that failed: piping straight into the process would fail the
 * whole pipeline with EPIPE first.
 */
export function drainingSink(target: Writable): Writable {
  let gone = false;
  target.on('error', () => {
    gone = true;
  });
  return new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _encoding, callback) {
      if (gone || target.destroyed) return callback();
      target.write(chunk, (error) => {
        if (error) gone = true;
        callback();
      });
    },
    final(callback) {
      if (gone || target.destroyed) return callback();
      // end()'s callback runs on finish and on error alike.
      target.end(() => callback());
    },
  });
}
