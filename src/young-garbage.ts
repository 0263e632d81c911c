import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'minor' | 'major' }) => void;
let gc: Gc | null | undefined;

/**
 * Frees the stream chunks that died young, now (a scavenge: about a millisecond). Each chunk read
 * from a pipe is its own buffer, and V8 frees them only when their memory outside its heap has
 * grown by tens of MiB since the last collection: on top of a pool of part buffers, that is the
 * difference between a flat ~135 MiB and ~160 MiB for a backup to S3. A no-op where V8 refuses.
 */
export function collectYoungGarbage(): void {
  if (gc === undefined) {
    try {
      // The function is only bound in contexts created after the flag is set.
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as Gc;
    } catch {
      gc = null;
    }
  }
  gc?.({ type: 'minor' });
}

/** Counts the bytes of chunks passed on and collects them every `every` bytes. */
export function chunkCollector(every = 8 * 1024 * 1024): (bytes: number) => void {
  let pending = 0;
  return (bytes) => {
    pending += bytes;
    if (pending < every) return;
    pending = 0;
    collectYoungGarbage();
  };
}
