import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Keyring } from '../../storage/crypto/keys.js';
import type { Store } from '../../storage/store.js';
import { walFetch } from './fetch.js';
import { DEFAULT_SEGMENT_SIZE } from './names.js';
import { claimSpool, dropPassed, followingSegments, makeSpool, recovering } from './spool.js';

export interface PrefetchOptions {
  store: Store;
  keyring?: Keyring;
  spool: string;
  /** Segment names in order, all after the one recovery asked for last: the first window. */
  names: string[];
  /** To name the segments after the first window (default 16 MiB). */
  segmentSize?: number;
  /** Fetches at once (default 2: overlaps the store's latency without crowding the replay). */
  concurrency?: number;
  /** Stop when recovery has taken nothing from a full spool for this long (default 60 s). */
  idleMs?: number;
  /** How often the spool is looked at while it is full (default 25 ms). */
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * Keeps the next `names.length` segments in the spool (see spool.ts) while recovery takes them,
 * a few fetches at a time: a window that moves on as recovery consumes, so one prefetcher serves
 * a whole recovery. Stops at the first name the archive does not hold, when the spool is removed
 * (stopPrefetchers), when the data directory is no longer in recovery (spool.ts: recovering), or
 * when recovery takes nothing for `idleMs`. Only one
 * prefetcher works on a spool at a time: a second one returns at once. Failures are left to the
 * foreground wal-fetch, which fetches a file itself when the spool does not have it and reports
 * errors the way PostgreSQL needs.
 */
export async function prefetch(options: PrefetchOptions): Promise<{ fetched: string[] }> {
  const { spool, names } = options;
  const fetched: string[] = [];
  if (names.length === 0) return { fetched };
  // Never recreates pg_wal: a data directory removed under a late prefetcher stays removed; and
  // one started by recovery's last wal-fetch must not fill a spool once the server is promoted.
  if (!recovering(spool) || !makeSpool(spool)) return { fetched };
  const release = claimSpool(spool);
  if (!release) return { fetched };
  const window = names.length;
  const idleMs = options.idleMs ?? 60_000;
  const pollMs = options.pollMs ?? 25;
  let next = names[0];
  let stop = false;
  let inFlight = 0;
  let lastTaken = Date.now();
  /** Spooled by us and not yet taken by recovery. */
  const waiting = new Set<string>();

  /** Notices what recovery took; a spooled file below one it took was passed over (fetched in the foreground): removed. */
  const look = (): number | undefined => {
    let present: Set<string>;
    try {
      present = new Set(fs.readdirSync(spool).filter((entry) => !entry.startsWith('.')));
    } catch {
      return undefined; // the spool is gone
    }
    if (!recovering(spool)) return undefined;
    let newestTaken = '';
    for (const name of waiting) {
      if (present.has(name)) continue;
      waiting.delete(name);
      lastTaken = Date.now();
      if (name > newestTaken) newestTaken = name;
    }
    for (const name of waiting) {
      if (name < newestTaken) {
        fs.rmSync(path.join(spool, name), { force: true });
        waiting.delete(name);
      }
    }
    return waiting.size;
  };

  const worker = async () => {
    while (!stop && !options.signal?.aborted) {
      const spooled = look();
      if (spooled === undefined) break;
      if (spooled + inFlight >= window) {
        if (Date.now() - lastTaken > idleMs) break;
        await sleep(pollMs);
        continue;
      }
      const name = next;
      next = followingSegments(name, 1, options.segmentSize ?? DEFAULT_SEGMENT_SIZE)[0];
      if (fs.existsSync(path.join(spool, name))) {
        waiting.add(name);
        continue;
      }
      inFlight++;
      try {
        const result = await walFetch({ store: options.store, keyring: options.keyring, name, dest: path.join(spool, name), attempts: 2, signal: options.signal });
        if (result.found) {
          fetched.push(name);
          waiting.add(name);
        } else stop = true;
      } catch {
        stop = true;
      } finally {
        inFlight--;
      }
    }
    stop = true;
  };
  try {
    dropPassed(spool, names[0]);
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, worker));
    return { fetched };
  } finally {
    release();
  }
}
