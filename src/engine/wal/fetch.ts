import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { LifelineError, abortError, isLifelineError, throwIfAborted } from '../../errors.js';
import { EMPTY_KEYRING, type Keyring } from '../../storage/crypto/keys.js';
import { getData } from '../../storage/crypto/objects.js';
import type { Store } from '../../storage/store.js';
import { findWalObject, repositoryExists, type StoredWal } from './archive-store.js';
import { walCodec } from './light-codec.js';
import { parseWalName } from './names.js';
import { TRAILER_SIZE, decodeTrailer } from './object-format.js';

export interface WalFetchOptions {
  store: Store;
  /** %f: the WAL file PostgreSQL asks for. */
  name: string;
  /** %p: where to put it (relative to the data directory = our cwd). */
  dest: string;
  /** Attempts on storage errors before failing hard (default 4, with 0.25 s, 0.5 s, 1 s pauses). */
  attempts?: number;
  retryDelayMs?: number;
  /** Keys for encrypted WAL; default none. */
  keyring?: Keyring;
  signal?: AbortSignal;
  /** Called before each retry, with the error that caused it. */
  onRetry?: (error: LifelineError, attempt: number) => void;
}

export type WalFetchResult =
  | { found: true; name: string; key: string; size: number; sha256: string }
  /** Truly absent: the repository answered, and holds no such file. */
  | { found: false; name: string };

/**
 * Fetches one WAL file for restore_command. "Not found" is returned ONLY when the repository is
 * there and readable and holds no such file (PostgreSQL asks for files beyond the end of the
 * archive and for future timelines' history files as a matter of course). Everything else (an
 * unreachable or unreadable repository, a checksum mismatch, a failing decompressor) is thrown
 * after retries, so the CLI can exit in a way that makes PostgreSQL abort recovery instead of
 * ending it early and promoting.
 */
export async function walFetch(options: WalFetchOptions): Promise<WalFetchResult> {
  const { store, name, signal } = options;
  const parsed = parseWalName(name);
  if (!parsed) {
    throw new LifelineError('USAGE', `${name} is not a WAL file name.`, { hint: 'restore_command passes %f and %p: lifeline wal-fetch %f %p' });
  }
  const attempts = Math.max(1, options.attempts ?? 4);
  const delay = options.retryDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(signal);
    try {
      const object = await findWalObject(store, parsed);
      if (!object) {
        // An absent object only means "not archived" if the repository itself is there: a wrong
        // or vanished --repo must stop recovery, not end it.
        if (!(await repositoryExists(store))) {
          throw new LifelineError('REPO_READ', `No lifeline repository at ${store.location} (lifeline.json is missing)`, {
            hint: 'restore_command names the wrong --repo, or the repository is not mounted.',
          });
        }
        return { found: false, name };
      }
      const facts = await download(store, object, options.dest, options.keyring ?? EMPTY_KEYRING, signal);
      return { found: true, name, key: object.key, ...facts };
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      const failure = isLifelineError(error)
        ? error
        : new LifelineError('REPO_READ', `Reading ${name} from ${store.location} failed: ${(error as Error).message}`, { cause: error });
      if (NOT_RETRIED.has(failure.code) || attempt >= attempts) throw failure;
      options.onRetry?.(failure, attempt);
      await sleep(delay * 2 ** (attempt - 1), undefined, { signal }).catch(() => undefined);
    }
  }
}

function corruptWal(store: Store, key: string, why: string): LifelineError {
  return new LifelineError('REPO_CORRUPT', `${store.location}/${key} is corrupt (${why})`, {
    hint: 'Recovery cannot go past this file: fetch it from a second copy of the repository, or recover to a time before it (or from a base backup taken after it).',
  });
}

/** Failures a retry cannot cure. */
const NOT_RETRIED = new Set(['USAGE', 'KEY_MISSING', 'KEY_WRONG', 'CONFIG_INVALID']);

async function download(
  store: Store,
  object: StoredWal,
  dest: string,
  keyring: Keyring,
  signal?: AbortSignal,
): Promise<{ size: number; sha256: string }> {
  const trailerSize = TRAILER_SIZE[object.compression];
  let tail = Buffer.alloc(0);
  const keepTail = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > trailerSize) tail = tail.subarray(tail.length - trailerSize);
      callback(null, chunk);
    },
  });
  const hash = createHash('sha256');
  let size = 0;
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.lifeline-${randomBytes(4).toString('hex')}`);
  const handle = await fs.promises.open(tmp, 'wx', 0o600);
  let renamed = false;
  try {
    const sink = new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _enc, callback) {
        hash.update(chunk);
        size += chunk.length;
        handle.write(chunk).then(() => callback(), callback);
      },
    });
    const codec = walCodec(object.compression, 'decompress');
    try {
      await Promise.all([pipeline(await getData(store, keyring, object.key, { signal }), keepTail, codec.stream, sink, { signal }), codec.done]);
    } catch (error) {
      // The decompressor's own complaint ("zstd failed: ...") says what, not which file; a chunk
      // that failed authentication gets the same advice.
      if (isLifelineError(error) && (error.code === 'REPO_CORRUPT' || error.code === 'DECRYPT_FAILED')) throw corruptWal(store, object.key, error.message);
      throw error;
    }
    const facts = decodeTrailer(object.compression, tail);
    const sha256 = hash.digest('hex');
    if (!facts) throw corruptWal(store, object.key, 'no lifeline checksum trailer: truncated or not written by lifeline');
    if (facts.sha256 !== sha256 || facts.size !== size) {
      throw corruptWal(store, object.key, `${size} bytes with sha256 ${sha256.slice(0, 16)}…, archived as ${facts.size} bytes with sha256 ${facts.sha256.slice(0, 16)}…`);
    }
    // No fsync: after a crash PostgreSQL fetches restored files again.
    await handle.close();
    await fs.promises.rename(tmp, dest);
    renamed = true;
    return { size, sha256 };
  } finally {
    await handle.close().catch(() => undefined);
    if (!renamed) await fs.promises.unlink(tmp).catch(() => undefined);
  }
}
