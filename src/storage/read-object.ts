import { LifelineError } from '../errors.js';
import type { Store } from './store.js';

/**
 * Reads a small object (manifest, record, lock) as text; undefined when absent. Objects larger
 * than `maxBytes` throw REPO_CORRUPT: these files are written by lifeline and are never that big.
 */
export async function readObjectText(store: Store, key: string, options: { maxBytes?: number; signal?: AbortSignal } = {}): Promise<string | undefined> {
  const { maxBytes = 16 * 1024 * 1024, signal } = options;
  let stream;
  try {
    stream = await store.get(key, { signal });
  } catch (error) {
    if (error instanceof LifelineError && error.code === 'OBJECT_NOT_FOUND') return undefined;
    throw error;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const bytes = chunk as Buffer;
    size += bytes.length;
    if (size > maxBytes) {
      stream.destroy();
      throw new LifelineError('REPO_CORRUPT', `${store.location}/${key} is larger than ${maxBytes} bytes`, {
        hint: 'It was not written by lifeline; move it out of the repository.',
      });
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}
