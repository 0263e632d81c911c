import { z } from 'zod';

/** backups/<id>/manifest.json: written last; a backup without one does not exist. */

export const backupLabels = ['daily', 'pitr', 'pre-deploy', 'manual', 'drill'] as const;
export const backupLabelSchema = z.enum(backupLabels);
export type BackupLabel = z.infer<typeof backupLabelSchema>;

export const storedObjectSchema = z.object({
  name: z.string(),
  size: z.number().int().nonnegative(),
  /** Lowercase hex sha256 of the bytes as stored. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** sha256 of the plain (uncompressed, unencrypted) bytes, where known. */
  plainSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  plainSize: z.number().int().nonnegative().optional(),
});
export type StoredObject = z.infer<typeof storedObjectSchema>;

export const tableFingerprintSchema = z.object({
  schema: z.string(),
  table: z.string(),
  rows: z.number().int().nonnegative(),
  /** Order-independent hash of every row's text form, taken in the dump's snapshot. */
  fingerprint: z.string(),
});
export type TableFingerprint = z.infer<typeof tableFingerprintSchema>;

export const manifestSchema = z.object({
  formatVersion: z.literal(1),
  id: z.string(),
  kind: z.enum(['logical', 'base']),
  label: backupLabelSchema,
  reason: z.string().optional(),
  operator: z.string(),
  host: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  /** The instant the data reflects (the dump's snapshot / the base backup's stop point). */
  snapshotAt: z.string().optional(),
  database: z.string().optional(),
  serverVersion: z.string(),
  serverVersionNum: z.number().int(),
  toolVersions: z.record(z.string(), z.string()),
  systemIdentifier: z.string().optional(),
  timeline: z.number().int().optional(),
  startLsn: z.string().optional(),
  stopLsn: z.string().optional(),
  compression: z.object({
    algorithm: z.enum(['zstd', 'lz4', 'gzip', 'none']),
    level: z.number().int().optional(),
    /** Bytes before compression (the dump or tar as the tool wrote it), where known. */
    plainBytes: z.number().int().nonnegative().optional(),
    /** plainBytes / stored bytes of the compressed objects (2 = half the size). */
    ratio: z.number().nonnegative().optional(),
  }),
  encryption: z.object({ algorithm: z.string(), keyFingerprint: z.string() }).optional(),
  objects: z.array(storedObjectSchema).min(1),
  tables: z.array(tableFingerprintSchema).optional(),
  /** Free-form facts a later step may want (format, jobs, database settings, ...). */
  extra: z.record(z.string(), z.unknown()).optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;
