import { Readable } from 'node:stream';

export const RANGE_CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * One object read as `concurrency` ranged reads in flight at a time (S3 serves each connection
 * far slower than it serves several), handed on in order as one stream. Memory is bounded by
 * concurrency × chunkBytes; the consumer's back-pressure holds the next reads back.
 */
export function rangedRead(
  read: (range: { start: number; end: number }, signal?: AbortSignal) => Promise<Readable>,
  size: number,
  options: { concurrency: number; chunkBytes?: number; signal?: AbortSignal },
): Readable {
  const chunkBytes = options.chunkBytes ?? RANGE_CHUNK_BYTES;
  const { signal } = options;
  // A chunk is kept as the parts the store delivered (no copy into one buffer).
  const fetchChunk = async (start: number): Promise<Buffer[]> => {
    const end = Math.min(size, start + chunkBytes) - 1;
    const parts: Buffer[] = [];
    let length = 0;
    for await (const part of await read({ start, end }, signal)) {
      parts.push(part as Buffer);
      length += (part as Buffer).length;
    }
    if (length !== end - start + 1) throw new Error(`ranged read ${start}-${end} returned ${length} bytes (the object changed or is shorter than ${size})`);
    return parts;
  };
  async function* chunks(): AsyncGenerator<Buffer> {
    const inFlight: Promise<Buffer[]>[] = [];
    let next = 0;
    const fill = () => {
      while (inFlight.length < options.concurrency && next < size) {
        const started = fetchChunk(next);
        started.catch(() => undefined);
        inFlight.push(started);
        next += chunkBytes;
      }
    };
    fill();
    while (inFlight.length) {
      const parts = await inFlight.shift()!;
      fill();
      yield* parts;
    }
  }
  return Readable.from(chunks(), { objectMode: false, signal });
}
