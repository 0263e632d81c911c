import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifelineError, errnoCode, throwIfAborted } from '../../errors.js';
import { EMPTY_KEYRING, type Keyring } from '../../storage/crypto/keys.js';
import { prepareDataWrites, putData } from '../../storage/crypto/objects.js';
import type { Store } from '../../storage/store.js';
import type { ProgressCallback } from '../progress.js';
import { ensureRepository, findWalObject, readTrailer } from './archive-store.js';
import { walCodec, zstdOnPath } from './light-codec.js';
import { parseWalName } from './names.js';
import { encodeTrailer, walObjectKey, type WalCompression } from './object-format.js';

export interface WalPushOptions {
  store: Store;
  /** The file PostgreSQL hands over (%p, relative to the data directory = our cwd). */
  file: string;
  /** Default zstd when the binary is there, else gzip. */
  compression?: WalCompression;
  level?: number;
  /** Encrypts with the current key (and reads an existing object with any); default none. */
  keyring?: Keyring;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export interface WalPushResult {
  name: string;
  key: string;
  /** false: the archive already held this exact file (a retried archive_command). */
  created: boolean;
  sha256: string;
  size: number;
  storedSize?: number;
}

/**
 * Archives one WAL file. Never takes the repository lock (the archive only grows, one immutable
 * object per name, created atomically) and needs no database. Same name and same content as
 * what is stored: success. Different content: WAL_CONFLICT, which must stay loud (two clusters
 * archiving into one repository, or a promoted copy still archiving).
 */
export async function walPush(options: WalPushOptions): Promise<WalPushResult> {
  const { store, signal } = options;
  const keyring = options.keyring ?? EMPTY_KEYRING;
  throwIfAborted(signal);
  const name = path.basename(options.file);
  const parsed = parseWalName(name);
  if (!parsed) {
    throw new LifelineError('USAGE', `${name} is not a WAL file name (segment, .history, .backup or .partial).`, {
      hint: 'archive_command passes %p: lifeline wal-push %p',
    });
  }
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(options.file, 'r');
  } catch (error) {
    throw new LifelineError('USAGE', `Cannot read ${options.file}: ${errnoCode(error) ?? (error as Error).message}`, {
      hint: 'archive_command runs in the data directory; pass %p as it is.',
    });
  }
  try {
    await ensureRepository(store);
    await prepareDataWrites(store, keyring, 'WAL');
    const existing = await findWalObject(store, parsed);
    if (existing) return await compareExisting(store, existing, keyring, handle, name, signal);

    const compression = options.compression ?? (zstdOnPath() ? 'zstd' : 'gzip');
    const key = walObjectKey(parsed, compression);
    // Compression and encryption add at most a little to an incompressible segment.
    const sizeHint = (await handle.stat()).size * 1.1 + 1024 * 1024;
    const hash = createHash('sha256');
    let plainSize = 0;
    const input = handle.createReadStream({ autoClose: false, highWaterMark: 1 << 20 });
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, callback) {
        hash.update(chunk);
        plainSize += chunk.length;
        callback(null, chunk);
      },
    });
    const codec = walCodec(compression, 'compress', options.level);
    let facts: { sha256: string; size: number } | undefined;
    // Appends the trailer once the codec finished cleanly; any failure errors the stream, so the
    // store keeps nothing under `key`. Encryption (putData) wraps the compressed bytes and trailer.
    const guard = new Transform({
      transform(chunk: Buffer, _enc, callback) {
        callback(null, chunk);
      },
      flush(callback) {
        codec.done.then(
          () => {
            facts = { sha256: hash.digest('hex'), size: plainSize };
            callback(null, encodeTrailer(compression, facts));
          },
          (error: unknown) => callback(error as Error),
        );
      },
    });
    const piping = pipeline(input, hasher, codec.stream, guard, { signal }).catch((error: unknown) => {
      guard.destroy(error as Error);
    });
    let put;
    try {
      put = await putData(store, keyring, key, guard as Readable, { ifNotExists: true, signal, sizeHint });
    } finally {
      await piping;
    }
    if (!facts) throw new Error('wal-push: the trailer was not written');
    if (!put.created) {
      // Another push of the same name won the race: compare with what it stored.
      const raced = await findWalObject(store, parsed);
      if (!raced) throw new LifelineError('REPO_READ', `${store.location}/${key} vanished right after a concurrent push`);
      return await compareExisting(store, raced, keyring, handle, name, signal);
    }
    options.onProgress?.({ phase: 'done', bytes: put.size, message: `archived ${name}` });
    return { name, key, created: true, sha256: facts.sha256, size: facts.size, storedSize: put.size };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function compareExisting(
  store: Store,
  existing: { key: string; compression: WalCompression; size: number },
  keyring: Keyring,
  handle: fs.promises.FileHandle,
  name: string,
  signal?: AbortSignal,
): Promise<WalPushResult> {
  const stored = await readTrailer(store, existing, keyring, signal);
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of handle.createReadStream({ start: 0, autoClose: false, highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== stored.sha256 || size !== stored.size) {
    throw new LifelineError(
      'WAL_CONFLICT',
      `The archive already holds ${name} with DIFFERENT content (${existing.key}: ${stored.size} bytes, sha256 ${stored.sha256.slice(0, 16)}…; this file: ${size} bytes, sha256 ${sha256.slice(0, 16)}…)`,
      {
        hint: 'Two clusters (or a restored copy with archiving still on) are archiving into one repository. Stop the other one; give each cluster its own repository.',
      },
    );
  }
  return { name, key: existing.key, created: false, sha256, size, storedSize: existing.size };
}
