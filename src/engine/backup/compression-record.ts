import type { Manifest, StoredObject } from '../../storage/manifest.js';
import type { Codec } from '../compress/codec.js';

/**
 * The manifest's compression entry: codec, level, and, when the plain size is known, the ratio
 * plain bytes / stored bytes over the compressed objects (globals.sql and backup_manifest,
 * stored as they are, do not count).
 */
export function compressionRecord(codec: Codec, compressed: { objects: StoredObject[]; plainBytes?: number }): Manifest['compression'] {
  const stored = compressed.objects.reduce((sum, o) => sum + o.size, 0);
  const { plainBytes } = compressed;
  return {
    algorithm: codec.algorithm,
    ...(codec.level === undefined ? {} : { level: codec.level }),
    ...(plainBytes === undefined ? {} : { plainBytes, ...(stored > 0 ? { ratio: Math.round((plainBytes / stored) * 1000) / 1000 } : {}) }),
  };
}
