import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { LifelineError, abortError, throwIfAborted } from '../errors.js';
import { currentProcess, processLiveness, type ProcessIdentity } from './process-identity.js';
import { readObjectText } from './read-object.js';
import type { Store } from './store.js';

/**
 * The repository lock: one object `lock`, created with ifNotExists, so it works on any Store
 * (a file `<repo>/lock` locally, an object with a conditional put on S3).
 *
 * A holder that is provably dead (same host, no such pid, or an earlier boot) is taken over. The
 * takeover must not let two contenders both win, and the store has no compare-and-delete, so a
 * contender first claims `locks/takeover-<token>-<n>` (ifNotExists): only the claim's winner may
 * delete the stale lock, after re-reading that it still carries the dead holder's token. A claim
 * whose own writer died is superseded by claim n+1.
 */

export const LOCK_KEY = 'lock';
const TAKEOVER_PREFIX = 'locks/takeover-';
/** How long a contender waits for another live process that is busy taking over a stale lock. */
const TAKEOVER_GRACE_MS = 2000;

const holderSchema = z.object({
  token: z.string(),
  pid: z.number().int(),
  host: z.string(),
  bootId: z.string().optional(),
  startedAt: z.string(),
  command: z.string(),
});
export type LockHolder = z.infer<typeof holderSchema>;

export interface AcquireLockOptions {
  /** What the holder does, shown to whoever finds the repository locked (e.g. "lifeline backup"). */
  command: string;
  /** Wait up to this many milliseconds for a live holder to finish (default 0: fail at once). */
  wait?: number;
  signal?: AbortSignal;
  /** Called once when the lock is held by someone else and we start waiting. */
  onWaiting?: (holder: LockHolder) => void;
}

/** Releases the lock if we still hold it; calling it twice is harmless, and it never throws (a lock it cannot remove is taken over once this process ends). */
export type ReleaseLock = () => Promise<void>;

export async function acquireLock(store: Store, options: AcquireLockOptions): Promise<ReleaseLock> {
  const { signal, onWaiting } = options;
  const me: ProcessIdentity = currentProcess();
  const mine: LockHolder = {
    token: randomUUID(),
    pid: me.pid,
    host: me.host,
    ...(me.bootId ? { bootId: me.bootId } : {}),
    startedAt: new Date().toISOString(),
    command: options.command,
  };
  const deadline = Date.now() + Math.max(0, options.wait ?? 0);
  let delay = 20;
  let told = false;

  for (;;) {
    throwIfAborted(signal);
    const put = await store.put(LOCK_KEY, JSON.stringify(mine), { ifNotExists: true, signal });
    if (put.created) return releaser(store, mine.token);

    const holder = await readLockHolder(store);
    if (holder === undefined) continue; // released between our put and our read
    let retryUntil = deadline;
    if (holder !== 'unreadable' && processLiveness(holder, me) === 'dead') {
      if (await takeOver(store, holder, me)) continue;
      retryUntil = Math.max(deadline, Date.now() + TAKEOVER_GRACE_MS);
    }
    if (Date.now() >= retryUntil) throw lockedError(store, holder, me);
    if (!told && holder !== 'unreadable') {
      told = true;
      onWaiting?.(holder);
    }
    try {
      await sleep(Math.min(delay, Math.max(1, retryUntil - Date.now())), undefined, { signal });
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      throw error;
    }
    delay = Math.min(delay * 2, 500);
  }
}

/** The current holder, undefined when the repository is not locked. */
export async function readLockHolder(store: Store): Promise<LockHolder | 'unreadable' | undefined> {
  const text = await readObjectText(store, LOCK_KEY, { maxBytes: 64 * 1024 }).catch(corruptAsEmpty);
  if (text === undefined) return undefined;
  try {
    return holderSchema.parse(JSON.parse(text));
  } catch {
    return 'unreadable';
  }
}

function releaser(store: Store, token: string): ReleaseLock {
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    try {
      const holder = await readLockHolder(store);
      if (holder !== undefined && holder !== 'unreadable' && holder.token === token) await store.delete([LOCK_KEY]);
    } catch {
      // The store went away (an S3 outage, an unmounted disk): the lock stays behind, naming this
      // process, and the next writer takes it over once the process has ended. Failing here would
      // hide the error that matters (usually the same outage, met by the work itself).
    }
  };
}

/** True when the stale lock is gone (by us or someone else); false when another live process is on it. */
async function takeOver(store: Store, stale: LockHolder, me: ProcessIdentity): Promise<boolean> {
  const claimBody = JSON.stringify({ pid: me.pid, host: me.host, bootId: me.bootId, at: new Date().toISOString() });
  for (let generation = 1; generation <= 100; generation++) {
    const claimKey = `${TAKEOVER_PREFIX}${stale.token}-${generation}`;
    const claim = await store.put(claimKey, claimBody, { ifNotExists: true });
    if (claim.created) {
      try {
        const current = await readLockHolder(store);
        if (current !== undefined && current !== 'unreadable' && current.token === stale.token) await store.delete([LOCK_KEY]);
      } finally {
        const claims = await store.list(`${TAKEOVER_PREFIX}${stale.token}-`);
        await store.delete(claims.map((object) => object.key));
      }
      return true;
    }
    const text = await readObjectText(store, claimKey, { maxBytes: 64 * 1024 }).catch(corruptAsEmpty);
    if (text === undefined) return true; // the winner finished and cleaned up
    let claimer: ProcessIdentity | undefined;
    try {
      claimer = JSON.parse(text) as ProcessIdentity;
    } catch {
      claimer = undefined;
    }
    if (claimer && processLiveness(claimer, me) !== 'dead') return false;
  }
  return false;
}

function lockedError(store: Store, holder: LockHolder | 'unreadable', me: ProcessIdentity): LifelineError {
  const lockPath = `${store.location.replace(/\/+$/, '')}/${LOCK_KEY}`;
  if (holder === 'unreadable') {
    return new LifelineError('REPO_LOCKED', `The repository lock ${lockPath} is unreadable`, {
      hint: `If no lifeline runs against this repository, delete ${lockPath} and try again.`,
    });
  }
  const who = `${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt})`;
  const hint =
    holder.host === me.host
      ? `Wait for it to finish and run the command again; if pid ${holder.pid} is gone, lifeline takes the lock over by itself.`
      : `Wait for it to finish and run the command again. If nothing of lifeline runs on ${holder.host} any more, delete ${lockPath}.`;
  return new LifelineError('REPO_LOCKED', `The repository is locked by ${who}`, { hint });
}

/** An oversized lock or claim reads as unparseable text rather than failing the whole acquire. */
function corruptAsEmpty(error: unknown): string {
  if (error instanceof LifelineError && error.code === 'REPO_CORRUPT') return '';
  throw error;
}
