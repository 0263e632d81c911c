import { z } from 'zod';
import { alertSinkSchema, policySchema } from './policy.js';

/** One definition of every setting: validation, types and the docs table derive from it. */

const absolutePath = z.string().refine((value) => value.startsWith('/'), 'an absolute path');

const qualifiedPattern = z.string().regex(/^[^.\s]+\.[^.\s]+$/, 'schema.table (wildcards * and ? allowed)');

export const targetSchema = z
  .object({
    url: z.string().optional().describe('postgresql:// URL; a password here is better kept in PGPASSWORD or ~/.pgpass'),
    host: z.string().optional(),
    port: z.number().int().min(1).max(65535).optional(),
    database: z.string().optional(),
    user: z.string().optional(),
    passwordEnv: z.string().optional().describe('name of an environment variable holding the password'),
    sslmode: z.enum(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']).optional(),
    preset: z.enum(['supabase']).optional().describe('a managed platform whose own schemas are skipped and whose user data (auth, storage) is kept'),
    include: z
      .object({
        schemas: z.array(z.string().min(1)).optional().describe('dump only these schemas (pg_dump -n)'),
        tables: z.array(qualifiedPattern).optional().describe('dump only these tables, schema.table, * and ? allowed (pg_dump -t)'),
      })
      .strict()
      .optional(),
    exclude: z
      .object({
        schemas: z.array(z.string().min(1)).optional().describe('skip these schemas (pg_dump -N)'),
        tables: z.array(qualifiedPattern).optional().describe('skip these tables (pg_dump -T)'),
        tableData: z.array(qualifiedPattern).optional().describe('keep these tables\' definitions but not their rows (pg_dump --exclude-table-data)'),
      })
      .strict()
      .optional(),
  })
  .strict();

export const verifyLevels = ['integrity', 'archive', 'restore', 'consistency'] as const;
export const verifyLevelSchema = z.enum(verifyLevels);

/** The codecs of engine/compress/spec.ts (which the light wal-push path uses without zod). */
export const compressionSchema = z.enum(['zstd', 'lz4', 'gzip', 'none']);

export const assertionSchema = z
  .object({
    name: z.string().min(1),
    sql: z.string().min(1).describe('a query returning one row whose first column is true when the data is good'),
  })
  .strict();

export const contactSchema = z
  .object({
    name: z.string().min(1),
    role: z.string().optional(),
    phone: z.string().optional(),
    email: z.string().optional(),
  })
  .strict();

export const s3Schema = z
  .object({
    endpoint: z.string().regex(/^https?:\/\/[^/]+/i, 'an http(s) URL').optional().describe('S3-compatible endpoint (MinIO, R2, Supabase Storage); else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL'),
    region: z.string().optional().describe('else AWS_REGION / the profile; us-east-1 with a custom endpoint'),
    forcePathStyle: z.boolean().optional().describe('path-style addressing; default: true whenever an endpoint is set'),
    partSizeMb: z.number().int().min(5).max(5120).optional().describe('multipart part size in MiB (default 8)'),
    queueSize: z.number().int().min(1).max(64).optional().describe('parts uploaded at once (default 4)'),
    maxAttempts: z.number().int().min(1).max(20).optional().describe('attempts per request with exponential back-off (default 5)'),
    sse: z.enum(['AES256', 'aws:kms']).optional().describe('server-side encryption for every object'),
    kmsKeyId: z.string().optional().describe('KMS key for sse aws:kms (else the bucket default key)'),
    checksum: z.enum(['when_required', 'when_supported']).optional().describe('SDK checksums; default when_required with a custom endpoint, else when_supported'),
    objectLock: z
      .object({ mode: z.enum(['governance', 'compliance']), days: z.number().int().min(1) })
      .strict()
      .optional()
      .describe('Object Lock retention set on every object written (bucket must have Object Lock on)'),
  })
  .strict();

export const configSchema = z
  .object({
    targets: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'target names are letters, digits, "_", "-" and "."')
          .refine((name) => !['__proto__', 'constructor', 'prototype', 'sandbox'].includes(name), 'a reserved name'),
        targetSchema,
      )
      .default({}),
    defaultTarget: z.string().optional(),
    repository: z
      .object({
        url: z.string().optional().describe('a local directory or s3://bucket/prefix'),
        mode: z.enum(['private', 'shared-group']).optional().describe('local files: private (0600/0700, default) or shared-group (0660/2770, chgrp group)'),
        group: z.union([z.string().min(1), z.number().int().min(0)]).optional().describe('the group of shared-group mode'),
        s3: s3Schema.optional(),
      })
      .strict()
      .refine((r) => r.mode !== 'shared-group' || r.group !== undefined, { message: 'shared-group mode needs repository.group', path: ['group'] })
      .default({}),
    copyTo: z.string().optional().describe('a second repository (directory or s3:// URL): each verified backup is copied there'),
    backup: z
      .object({
        compression: compressionSchema.default('zstd').describe('dumps and base backups: zstd, lz4, gzip or none (--compress overrides)'),
        compressionLevel: z.number().int().min(1).max(19).optional().describe('zstd 1-19 (default 3), lz4 1-12 (1), gzip 1-9 (1)'),
        lockWaitTimeoutSeconds: z.number().int().min(1).default(30),
        verifyAfter: z.union([verifyLevelSchema, z.literal('none')]).default('archive'),
        jobs: z.number().int().min(1).max(64).optional().describe('parallel pg_dump jobs for logical backups (directory format above 1; --jobs overrides)'),
        rolePasswords: z
          .boolean()
          .default(false)
          .describe("keep the roles' password hashes in globals.sql (needs an encrypted repository and a superuser; --role-passwords / --no-role-passwords override)"),
      })
      .strict()
      .refine((b) => b.compressionLevel === undefined || levelOk(b.compression, b.compressionLevel), {
        message: 'compressionLevel out of range for the codec (zstd 1-19, lz4 1-12, gzip 1-9, none takes no level)',
        path: ['compressionLevel'],
      })
      .default({ compression: 'zstd', lockWaitTimeoutSeconds: 30, verifyAfter: 'archive', rolePasswords: false }),
    verify: z
      .object({
        assertions: z.array(assertionSchema).default([]),
        minimumLevel: verifyLevelSchema.default('archive').describe('the level a backup must pass to count as verified'),
      })
      .strict()
      .default({ assertions: [], minimumLevel: 'archive' }),
    maintenance: z
      .object({
        strategy: z.enum(['database', 'command']).default('database'),
        onCommand: z.array(z.string()).optional(),
        offCommand: z.array(z.string()).optional(),
        statusCommand: z.array(z.string()).optional(),
      })
      .strict()
      .default({ strategy: 'database' }),
    contacts: z.array(contactSchema).default([]),
    policy: policySchema.prefault({}),
    alerts: z.array(alertSinkSchema).default([]),
    runbookDir: z.string().optional(),
    timezone: z.string().refine(isTimeZone, 'an IANA time zone such as UTC or Europe/Berlin').optional().describe('IANA zone used to show and read times, e.g. Europe/Berlin'),
    encryptionKeyFile: absolutePath.optional().describe('file holding the current encryption key (64 hex characters); LIFELINE_ENCRYPTION_KEY takes precedence'),
    encryptionKeyringFile: absolutePath.optional().describe('file of older keys, one a line, that still decrypt (key rotation)'),
  })
  .strict();

function levelOk(compression: z.infer<typeof compressionSchema>, level: number): boolean {
  const max = { zstd: 19, lz4: 12, gzip: 9, none: 0 }[compression];
  return level >= 1 && level <= max;
}

export type Config = z.infer<typeof configSchema>;
export type TargetConfig = z.infer<typeof targetSchema>;
export type VerifyLevel = z.infer<typeof verifyLevelSchema>;
export type Compression = z.infer<typeof compressionSchema>;

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
