import fs from 'node:fs';
import path from 'node:path';
import type { Keyring } from '../../storage/crypto/keys.js';
import type { Store } from '../../storage/store.js';
import { walFetch } from './fetch.js';
import { claimSpool, dropPassed, makeSpool } from './spool.js';

export interface PrefetchOptions {
  store: Store;
  keyring?: Keyring;
  spool: string;
  /** Segment names in order, all after the one recovery asked for last. */
  names: string[];
  /** Fetches at once (default 2: overlaps the store's latency without crowding the replay). */
  concurrency?: number;
  signal?: AbortSignal;
}

/**
 * Fetches `names` into the spool (see spool.ts), in order, a few at a time; stops at the first
 * name the archive does not hold. Only one prefetcher works on a spool at a time: a second one
 * returns at once. Failures are left to the foreground wal-fetch, which fetches a file itself
 * when the spool does not have it and reports errors the way PostgreSQL needs.
 */
export async function prefetch(options: PrefetchOptions): Promise<{ fetched: string[] }> {
  const { spool, names } = options;
  const fetched: string[] = [];
  if (names.length === 0) return { fetched };
  // Never recreates pg_wal: a data directory removed under a late prefetcher stays removed.
  if (!makeSpool(spool)) return { fetched };
  const release = claimSpool(spool);
  if (!release) return { fetched };
  try {
    dropPassed(spool, names[0]);
    const queue = names.filter((name) => !fs.existsSync(path.join(spool, name)));
    let stop = false;
    const worker = async () => {
      for (let name = queue.shift(); name !== undefined && !stop && !options.signal?.aborted; name = queue.shift()) {
        try {
          const result = await walFetch({ store: options.store, keyring: options.keyring, name, dest: path.join(spool, name), attempts: 2, signal: options.signal });
          if (result.found) fetched.push(name);
          else stop = true;
        } catch {
          stop = true;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, worker));
    return { fetched };
  } finally {
    release();
  }
}
