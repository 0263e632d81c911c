import { z } from 'zod';

/** One definition of every setting: validation, types and the docs table derive from it. */

export const targetSchema = z
  .object({
    url: z.string().optional().describe('postgresql:// URL; a password here is better kept in PGPASSWORD or ~/.pgpass'),
    host: z.string().optional(),
    port: z.number().int().min(1).max(65535).optional(),
    database: z.string().optional(),
    user: z.string().optional(),
    passwordEnv: z.string().optional().describe('name of an environment variable holding the password'),
    sslmode: z.enum(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']).optional(),
  })
  .strict();

export const verifyLevels = ['integrity', 'archive', 'restore', 'consistency'] as const;
export const verifyLevelSchema = z.enum(verifyLevels);

export const compressionSchema = z.enum(['zstd', 'gzip', 'none']);

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

export const configSchema = z
  .object({
    targets: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), targetSchema).default({}),
    defaultTarget: z.string().optional(),
    repository: z
      .object({
        url: z.string().optional().describe('a local directory or s3://bucket/prefix'),
      })
      .strict()
      .default({}),
    backup: z
      .object({
        compression: compressionSchema.default('zstd'),
        compressionLevel: z.number().int().min(1).max(19).optional(),
        lockWaitTimeoutSeconds: z.number().int().min(1).default(30),
        verifyAfter: z.union([verifyLevelSchema, z.literal('none')]).default('archive'),
      })
      .strict()
      .default({ compression: 'zstd', lockWaitTimeoutSeconds: 30, verifyAfter: 'archive' }),
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
    runbookDir: z.string().optional(),
    timezone: z.string().optional().describe('IANA zone used to show and read times, e.g. Europe/Berlin'),
    encryptionKeyFile: z.string().optional(),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type TargetConfig = z.infer<typeof targetSchema>;
export type VerifyLevel = z.infer<typeof verifyLevelSchema>;
export type Compression = z.infer<typeof compressionSchema>;
