import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifelineError, abortError } from '../../errors.js';
import { ensureDir, freeBytes } from '../../fs-util.js';
import { formatBytes } from '../../format.js';
import type { Manifest, StoredObject } from '../../storage/manifest.js';
import { DUMP_FOLDER, type Repository } from '../../storage/repository.js';
import { decompressor } from '../compress/codec.js';
import { codecArgs, spawnCodec } from '../compress/process-codec.js';
import { COMPRESSION_EXTENSIONS, compressionOfName } from '../compress/spec.js';
import type { ProgressCallback } from '../progress.js';
import { workQueue } from '../work-queue.js';
import { makeScratchDir, scratchError } from '../scratch.js';
import { rangedRead } from './ranged-read.js';
import { dumpObject } from './stream-dump.js';
import { hashMeter } from '../hash-meter.js';
import { drainingSink } from '../draining-sink.js';

/** custom: one `data.dump<ext>` object; directory: `dump/<file><ext>` objects (pg_dump -Fd -j). */
export type DumpFormat = 'custom' | 'directory';

export function dumpFormat(manifest: Manifest): DumpFormat {
  return manifest.extra?.format === 'directory' ? 'directory' : 'custom';
}

/** The objects that make up the dump itself (not globals.sql). */
export function dumpObjects(manifest: Manifest): StoredObject[] {
  return dumpFormat(manifest) === 'directory' ? manifest.objects.filter((o) => o.name.startsWith(DUMP_FOLDER)) : [dumpObject(manifest)];
}

/**
 * gzip files of a directory dump stay compressed on local disk: pg_restore reads `<n>.dat.gz`
 * and `toc.dat.gz` itself (and decompresses them in its parallel workers). Everything else is
 * staged plain, as pg_restore needs it.
 */
const keptCompressed = (manifest: Manifest, object: StoredObject) => dumpFormat(manifest) === 'directory' && compressionOfName(object.name) === 'gzip';

/** Local bytes a staged copy of the dump takes, from the manifest; undefined when unknown. */
export function stagingBytes(manifest: Manifest): number | undefined {
  let total = 0;
  for (const object of dumpObjects(manifest)) {
    if (keptCompressed(manifest, object)) total += object.size;
    else if (object.plainSize !== undefined) total += object.plainSize;
    else if (manifest.compression.algorithm === 'none') total += object.size;
    else if (manifest.compression.ratio) total += Math.ceil(object.size * manifest.compression.ratio);
    else return manifest.compression.plainBytes ?? (Number(manifest.extra?.databaseSizeBytes ?? 0) || undefined);
  }
  return total;
}

/** A problem when `dir`'s filesystem cannot hold the staged dump (plus 5% and 16 MiB of slack). */
export function stagingShortfall(dir: string, manifest: Manifest): { message: string; hint: string } | undefined {
  const needed = stagingBytes(manifest);
  if (needed === undefined) return undefined;
  const wanted = Math.ceil(needed * 1.05) + 16 * 1024 * 1024;
  let free: number;
  try {
    free = freeBytes(dir);
  } catch {
    return undefined;
  }
  if (free >= wanted) return undefined;
  return {
    message: `Not enough local disk to stage backup ${manifest.id} in ${dir}: ${formatBytes(free)} free, about ${formatBytes(wanted)} needed.`,
    hint:
      dumpFormat(manifest) === 'directory'
        ? 'A parallel (directory-format) backup is restored from local disk: free space there (lifeline uses <data>/scratch; LIFELINE_HOME moves it).'
        : 'Use --jobs 1 (streams into pg_restore, no staging) or free space there.',
  };
}

/**
 * Downloads the dump into `stagingDir` (refusing first when it cannot fit), checks every
 * object's size and sha256 as read against the manifest, hands the local path (a file for
 * custom, a folder for directory format) to `use`, and removes it afterwards, also on error or
 * abort. Custom format: parallel ranged reads of the one object; directory: `jobs` files at once.
 */
export async function withStagedDump<T>(
  options: { repo: Repository; manifest: Manifest; stagingDir: string; jobs: number; signal?: AbortSignal; onProgress?: ProgressCallback },
  use: (localPath: string) => Promise<T>,
): Promise<T> {
  const { manifest } = options;
  ensureDir(options.stagingDir);
  const shortfall = stagingShortfall(options.stagingDir, manifest);
  if (shortfall) throw new LifelineError('RESTORE_REFUSED', shortfall.message, { hint: shortfall.hint });
  const scratch = await makeScratchDir(options.stagingDir, 'restore-');
  const local = path.join(scratch, dumpFormat(manifest) === 'custom' ? `${manifest.id}.dump` : 'dump');
  const totalBytes = dumpObjects(manifest).reduce((sum, o) => sum + o.size, 0);
  let bytes = 0;
  const counted = { ...options, onBytes: (n: number) => options.onProgress?.({ phase: 'stage', bytes: (bytes += n), totalBytes }) };
  try {
    options.onProgress?.({ phase: 'stage', message: `staging the dump in ${options.stagingDir} for ${options.jobs} parallel jobs` });
    try {
      if (dumpFormat(manifest) === 'custom') await stageCustom(counted, local);
      else await stageDirectory(counted, local);
    } catch (error) {
      if (options.signal?.aborted) throw abortError(options.signal);
      throw scratchError(error, options.stagingDir, `staging the dump for --jobs ${options.jobs}`, 'Free space there, or restore with --jobs 1 (it streams, nothing is staged). The live database was not touched.');
    }
    return await use(local);
  } finally {
    await fs.promises.rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Stages only the table of contents of a directory-format dump (its `toc.dat`), which is all
 * `pg_restore --list` reads, and hands the folder to `use`; removed afterwards.
 */
export async function withStagedToc<T>(
  options: { repo: Repository; manifest: Manifest; stagingDir: string; signal?: AbortSignal },
  use: (localDir: string) => Promise<T>,
): Promise<T> {
  const toc = dumpObjects(options.manifest).find((o) => /^toc\.dat(\.|$)/.test(o.name.slice(DUMP_FOLDER.length)));
  if (!toc) throw new LifelineError('RESTORE_FAILED', `Backup ${options.manifest.id} has no toc.dat in its dump folder.`, { hint: 'Run `lifeline verify` on the backup.' });
  ensureDir(options.stagingDir);
  const scratch = await makeScratchDir(options.stagingDir, 'toc-');
  try {
    const dir = path.join(scratch, 'dump');
    await stageDirectoryObjects({ ...options, jobs: 1, onBytes: () => undefined }, dir, [toc]);
    return await use(dir);
  } finally {
    await fs.promises.rm(scratch, { recursive: true, force: true });
  }
}

type StageOptions = Parameters<typeof withStagedDump>[0] & { onBytes: (bytes: number) => void };

async function stageCustom(options: StageOptions, file: string): Promise<void> {
  const { repo, manifest, signal } = options;
  const object = dumpObject(manifest);
  // Ranges of the bytes as stored (hashed, then decrypted as one stream in storeLocally).
  const key = repo.backupKey(manifest.id, object.name);
  const source = rangedRead((range, rangeSignal) => repo.store.get(key, { ...range, signal: rangeSignal }), object.size, {
    concurrency: Math.max(2, options.jobs),
    signal,
  });
  await storeLocally(options, object, source, file);
}

async function stageDirectory(options: StageOptions, dir: string): Promise<void> {
  await stageDirectoryObjects(options, dir, dumpObjects(options.manifest));
}

async function stageDirectoryObjects(options: StageOptions, dir: string, objects: StoredObject[]): Promise<void> {
  const { repo, manifest, signal } = options;
  ensureDir(dir);
  const stop = new AbortController();
  const both = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  const downloads = workQueue(options.jobs, async (object: StoredObject) => {
    const name = object.name.slice(DUMP_FOLDER.length);
    const target = keptCompressed(manifest, object) ? name : name.slice(0, name.length - COMPRESSION_EXTENSIONS[compressionOfName(name)].length);
    await storeLocally({ ...options, signal: both }, object, await repo.store.get(repo.backupKey(manifest.id, object.name), { signal: both }), path.join(dir, target));
  }, () => stop.abort());
  for (const object of objects) downloads.add(object);
  await downloads.drain();
}

/**
 * Writes one object's stored bytes to a local file, decrypted and (unless kept compressed)
 * decompressed, proving that the bytes read are the ones the manifest names.
 */
async function storeLocally(options: StageOptions, object: StoredObject, source: Readable, file: string): Promise<void> {
  const { repo, manifest, signal } = options;
  const decrypt = repo.decrypting(repo.backupKey(manifest.id, object.name), { encrypted: manifest.encryption !== undefined });
  const meter = hashMeter((bytes) => options.onBytes(bytes));
  const codec = keptCompressed(manifest, object) ? 'none' : compressionOfName(object.name);
  if (codec === 'zstd' || codec === 'lz4') {
    // The codec writes the file itself: the plain bytes never pass through Node.
    const handle = await fs.promises.open(file, 'w', 0o600);
    try {
      const child = spawnCodec(codec, codecArgs(codec, 'decompress'), { signal, stdout: handle.fd, failureCode: 'REPO_CORRUPT' });
      // Hashed to the end whatever the codec does: an object changed since the check explains a
      // codec that choked on it; otherwise the codec's own words say why (a full disk).
      const [piped, decoded] = await Promise.allSettled([pipeline(source, meter.stream, decrypt, drainingSink(child.input!), { signal }), child.done]);
      if (piped.status === 'rejected') throw piped.reason;
      assertAsChecked(meter, object);
      if (decoded.status === 'rejected') throw decoded.reason;
    } finally {
      await handle.close();
    }
  } else {
    const { stream, done } = decompressor(codec).create(signal);
    await Promise.all([pipeline(source, meter.stream, decrypt, stream, fs.createWriteStream(file, { mode: 0o600 }), { signal }), done]);
    assertAsChecked(meter, object);
  }
}

/** The bytes staged are the bytes the integrity check read: the object did not change since. */
function assertAsChecked(meter: { size: number; digest(): string }, object: StoredObject): void {
  const { size } = meter;
  const sha256 = meter.digest();
  if (size !== object.size || sha256 !== object.sha256) {
    throw new LifelineError('RESTORE_FAILED', `${object.name} changed in the repository during the restore (${size} bytes, sha256 ${sha256}; manifest ${object.size} bytes, ${object.sha256})`, {
      hint: 'Something is writing into the repository; run `lifeline verify` on the backup.',
    });
  }
}
