import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Manifest, StoredObject } from '../../storage/manifest.js';
import type { Repository } from '../../storage/repository.js';
import { decompressor } from '../compress/codec.js';
import type { ProgressCallback } from '../progress.js';
import { hashMeter } from '../hash-meter.js';

export interface StreamedObject {
  object: StoredObject;
  /** What was read from the store: compared with the manifest by the caller. */
  size: number;
  sha256: string;
}

/** The logical dump object of a backup (custom format, possibly compressed). */
export function dumpObject(manifest: Manifest): StoredObject {
  const object = manifest.objects.find((o) => o.name.startsWith('data.dump'));
  if (!object) throw new Error(`backup ${manifest.id} has no data.dump object`);
  return object;
}

/**
 * Streams a stored dump, decrypted and decompressed, into `sink` (usually a pg_restore's stdin),
 * hashing the stored bytes on the way so one read proves integrity and feeds the restore.
 */
export async function streamDump(options: {
  repo: Repository;
  manifest: Manifest;
  sink: Writable;
  /** Write the bytes compressed (the sink decompresses, e.g. a zstd or lz4 process); default false. */
  compressed?: boolean;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}): Promise<StreamedObject> {
  const { repo, manifest, sink, signal, onProgress } = options;
  const object = dumpObject(manifest);
  const key = repo.backupKey(manifest.id, object.name);
  const source: Readable = await repo.store.get(key, { signal });
  const decrypt = repo.decrypting(key, { encrypted: manifest.encryption !== undefined });
  const meter = hashMeter((_bytes, total) => onProgress?.({ phase: 'read', bytes: total, totalBytes: object.size }));
  if (options.compressed) {
    await pipeline(source, meter.stream, decrypt, sink, { signal });
  } else {
    const { stream: decompress, done } = decompressor(manifest.compression.algorithm).create(signal);
    await Promise.all([pipeline(source, meter.stream, decrypt, decompress, sink, { signal }), done]);
  }
  return { object, size: meter.size, sha256: meter.digest() };
}
