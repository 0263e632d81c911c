import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { LifelineError, throwIfAborted } from '../../errors.js';
import type { ProgressCallback } from '../progress.js';
import type { Manifest } from '../../storage/manifest.js';
import { carryEncryptionMark } from '../../storage/crypto/objects.js';
import { backupKey, backupPrefix, manifestKey, type Repository } from '../../storage/repository.js';
import type { Store } from '../../storage/store.js';

/*
 * A second copy of backups (and the WAL archive) in another repository: objects first, each
 * streamed, hashed on the way and re-read from the destination to prove its sha256, the
 * verification records next, the manifest LAST (so an interrupted copy leaves no backup there).
 * What the destination already holds with the same sha256 is not copied again. Objects travel as
 * stored: encrypted ones stay encrypted (no key is needed to copy), and the destination is marked
 * encrypted like the source.
 */

export type ObjectOutcome = 'copied' | 'same';

export interface CopiedBackup {
  id: string;
  /** copied: the manifest was written now; present: the destination already had this backup. */
  status: 'copied' | 'present';
  objects: { name: string; size: number; outcome: ObjectOutcome }[];
  verifications: number;
  bytesCopied: number;
}

export interface CopyResult {
  from: string;
  to: string;
  backups: CopiedBackup[];
  wal?: { copied: number; present: number; bytesCopied: number };
}

export interface CopyOptions {
  from: Repository;
  to: Repository;
  /** Backup references (ids, prefixes, latest, latest-verified) or 'all'. */
  backups: string[] | 'all';
  /** Copy the WAL archive too (default: true with 'all', else false). */
  wal?: boolean;
  /** Wait this long for the destination's lock (default 30 s). */
  lockWaitMs?: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export async function copyBackups(options: CopyOptions): Promise<CopyResult> {
  const { from, to, signal, onProgress } = options;
  if (sameLocation(from.location, to.location)) {
    throw new LifelineError('USAGE', `The destination is the source repository (${to.location})`, { hint: 'Pass --to another repository.' });
  }
  const ids =
    options.backups === 'all'
      ? (await from.listBackups()).backups.map((b) => b.id).reverse() // oldest first
      : await Promise.all(options.backups.map(async (ref) => (await from.resolveBackup(ref)).id));
  const release = await to.acquireLock({ command: 'lifeline copy', wait: options.lockWaitMs ?? 30_000, signal });
  try {
    await to.initialize();
    await carryEncryptionMark(from.store, to.store);
    const result: CopyResult = { from: from.location, to: to.location, backups: [] };
    for (const id of [...new Set(ids)]) {
      throwIfAborted(signal);
      result.backups.push(await copyOne(from, to, id, signal, onProgress));
    }
    if (options.wal ?? options.backups === 'all') result.wal = await copyWal(from.store, to.store, signal, onProgress);
    return result;
  } finally {
    await release();
  }
}

/**
 * The hook for `backup` (config `copyTo`): copies one backup, and the WAL, to the second
 * repository once its verification passed. Returns undefined when nothing is configured.
 */
export async function copyVerifiedBackup(options: {
  from: Repository;
  copyTo: string | undefined;
  id: string;
  verified: boolean;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}): Promise<CopyResult | undefined> {
  if (!options.copyTo || !options.verified) return undefined;
  const { openRepository } = await import('../../storage/open-repository.js');
  const to = await openRepository(options.copyTo, { minimumVerifiedLevel: options.from.minimumVerifiedLevel, keyring: () => options.from.keyring });
  return copyBackups({ from: options.from, to, backups: [options.id], wal: true, signal: options.signal, onProgress: options.onProgress });
}

async function copyOne(from: Repository, to: Repository, id: string, signal?: AbortSignal, onProgress?: ProgressCallback): Promise<CopiedBackup> {
  const manifest = await from.readManifest(id);
  const existing = await readManifestIfAny(to, id);
  if (existing && !sameManifest(existing, manifest)) {
    throw new LifelineError('REPO_CORRUPT', `${to.location} already holds a different backup ${id}`, {
      hint: 'Two repositories disagree about one backup id: inspect both manifests before copying.',
    });
  }
  const done: CopiedBackup = { id, status: existing ? 'present' : 'copied', objects: [], verifications: 0, bytesCopied: 0 };
  for (const object of manifest.objects) {
    throwIfAborted(signal);
    const key = backupKey(id, object.name);
    if (await holds(to.store, key, object.size, object.sha256, signal)) {
      done.objects.push({ name: object.name, size: object.size, outcome: 'same' });
      continue;
    }
    if (existing) {
      throw new LifelineError('REPO_CORRUPT', `${to.location}/${key} is missing or differs from its manifest`, {
        hint: `Run \`lifeline verify ${id} --level integrity --repo ${to.location}\`; delete that copy and copy it again.`,
      });
    }
    onProgress?.({ phase: 'copy', message: `copying ${id}/${object.name} (${object.size} bytes)` });
    await copyObject(from.store, to.store, key, object.sha256, object.size, signal, (bytes) => onProgress?.({ phase: 'copy', bytes, totalBytes: object.size }));
    done.objects.push({ name: object.name, size: object.size, outcome: 'copied' });
    done.bytesCopied += object.size;
  }
  // Verification records prove the backup was verified: the copy lists as verified too.
  const records = await from.store.list(`${backupPrefix(id)}verify/`);
  for (const record of records) {
    const result = await to.store.put(record.key, await from.store.get(record.key, { signal }), { ifNotExists: true, signal });
    if (result.created) done.verifications++;
  }
  if (!existing) {
    await to.writeManifest(manifest);
    const written = await readManifestIfAny(to, id);
    if (!written || !sameManifest(written, manifest)) {
      throw new LifelineError('BACKUP_FAILED', `The manifest of ${id} reads back differently from ${to.location}`, { hint: 'Run the copy again.' });
    }
  }
  return done;
}

async function copyWal(from: Store, to: Store, signal?: AbortSignal, onProgress?: ProgressCallback) {
  const source = await from.list('wal/');
  const present = new Map((await to.list('wal/')).map((o) => [o.key, o.size]));
  const stats = { copied: 0, present: 0, bytesCopied: 0 };
  for (const object of source) {
    throwIfAborted(signal);
    const size = present.get(object.key);
    if (size !== undefined) {
      if (size !== object.size) {
        throw new LifelineError('REPO_CORRUPT', `${to.location}/${object.key} differs in size from ${from.location}/${object.key}`, {
          hint: 'Two WAL archives disagree about one file: find out which is right before copying.',
        });
      }
      stats.present++;
      continue;
    }
    onProgress?.({ phase: 'copy', message: `copying ${object.key}` });
    await copyObject(from, to, object.key, undefined, object.size, signal);
    stats.copied++;
    stats.bytesCopied += object.size;
  }
  return stats;
}

/**
 * Streams one object across, hashing what was read; checks it against `sha256` (the manifest's,
 * when known) and re-reads the destination to prove it holds exactly those bytes.
 */
async function copyObject(
  from: Store,
  to: Store,
  key: string,
  sha256: string | undefined,
  size: number,
  signal?: AbortSignal,
  onBytes?: (bytes: number) => void,
): Promise<void> {
  const source = await from.get(key, { signal });
  const put = await to.put(key, counting(source, onBytes), { signal, sizeHint: size });
  const expected = sha256 ?? put.sha256;
  if (put.sha256 !== expected || put.size !== size) {
    await to.delete([key]).catch(() => undefined);
    throw new LifelineError('VERIFY_FAILED', `${from.location}/${key} does not match its manifest (sha256 ${put.sha256}, ${put.size} bytes; expected ${expected}, ${size} bytes): not copied`, {
      hint: `The source copy is damaged: run \`lifeline verify\` on ${from.location} and copy another backup.`,
    });
  }
  const stored = await hashObject(to, key, signal);
  if (stored.sha256 !== expected || stored.size !== size) {
    await to.delete([key]).catch(() => undefined);
    throw new LifelineError('BACKUP_FAILED', `${to.location}/${key} reads back differently from what was copied`, {
      hint: 'The destination altered the bytes; check it, then run the copy again.',
    });
  }
}

/** Whether `store` already holds `key` with that size and sha256 (S3 metadata when recorded, else a read). */
async function holds(store: Store, key: string, size: number, sha256: string, signal?: AbortSignal): Promise<boolean> {
  const details = (store as Partial<{ details(key: string): Promise<{ size: number; sha256?: string } | undefined> }>).details;
  const info = details ? await details.call(store, key) : await store.head(key);
  if (!info || info.size !== size) return false;
  const recorded = (info as { sha256?: string }).sha256;
  if (recorded) return recorded === sha256;
  return (await hashObject(store, key, signal)).sha256 === sha256;
}

async function hashObject(store: Store, key: string, signal?: AbortSignal): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of await store.get(key, { signal })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

function counting(source: Readable, onBytes?: (bytes: number) => void): Readable {
  if (!onBytes) return source;
  let bytes = 0;
  const through = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      onBytes(bytes);
      callback(null, chunk);
    },
  });
  source.on('error', (error) => through.destroy(error));
  return source.pipe(through);
}

async function readManifestIfAny(repo: Repository, id: string): Promise<Manifest | undefined> {
  if (!(await repo.store.head(manifestKey(id)))) return undefined;
  return repo.readManifest(id);
}

function sameManifest(a: Manifest, b: Manifest): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameLocation(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}
