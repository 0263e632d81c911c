import { z } from 'zod';
import { LifelineError } from '../../errors.js';
import { defineAction } from '../registry.js';
import { backupRefSchema, locate, needConfig, needRepo, scratchDir, whereShape } from '../engine-services.js';

const TABLE = /^(?:([^.]+)\.)?([^.]+)$/;

/**
 * Restores a logical backup with the restore engine: integrity first, then a new database that is
 * verified against the manifest before anything live changes. Modes: swap (default: the new copy
 * takes the live name in one short transaction, the old one is kept), in-place (after a safety
 * backup) and into (a side database; nothing live changes).
 */
export const restoreAction = defineAction({
  name: 'restore',
  summary: 'restore a logical backup: swap (new copy, verified, then renamed), in-place (after a safety backup) or into a side database',
  paramsSchema: z
    .object({
      backup: backupRefSchema.default('latest-verified'),
      mode: z.enum(['swap', 'in-place', 'into']).default('swap').describe('swap: restore into a new database, verify, then swap names (the old one is kept); in-place: pg_restore --clean in one transaction after a safety backup; into: a new side database'),
      into: z.string().min(1).max(63).optional().describe('mode into: the new database (default: the database the backup was taken from)'),
      tables: z.array(z.string().regex(TABLE, 'schema.table')).optional().describe('mode into: only these tables'),
      schemas: z.array(z.string().min(1)).optional().describe('mode into: only these schemas'),
      jobs: z.number().int().min(1).max(64).default(1).describe('parallel pg_restore jobs (above 1 the dump is staged on local disk)'),
      ...whereShape,
    })
    .strict()
    .superRefine((args, ctx) => {
      if (args.mode !== 'into' && (args.into || args.tables?.length || args.schemas?.length)) {
        ctx.addIssue({ code: 'custom', path: ['mode'], message: '`into`, `tables` and `schemas` need mode: into' });
      }
    }),
  outputs: ['backupId', 'snapshotAt', 'database', 'keptAs', 'safetyBackupId', 'mode', 'server'],
  describe: (args) => {
    const where = args.sandbox ? `sandbox "${args.sandbox}"` : args.database ? `database ${args.database} of the target` : 'the target';
    if (args.mode === 'into') return `restore backup ${args.backup} into a new database ${args.into ?? '(named after the backup\'s database)'} on ${where}; nothing live changes`;
    if (args.mode === 'in-place') return `take a safety backup, then restore backup ${args.backup} over ${where} in one transaction`;
    return `restore backup ${args.backup} into a new database on ${where}, verify it, then swap it in (the current database is kept under a new name)`;
  },
  async run({ with: args, signal, onProgress, onOutput, services, run }) {
    const config = needConfig(services);
    const repo = await needRepo(services);
    const manifest = await repo.resolveBackup(args.backup, { kind: 'logical' });
    const where = await locate(services, args, signal);
    const [{ restoreBackup }, { logicalBackup }, { recordedFacts }] = await Promise.all([
      import('../../engine/restore/restore.js'),
      import('../../engine/backup/logical.js'),
      import('../../engine/restore/recorded.js'),
    ]);
    const into = args.mode === 'into' ? (args.into ?? manifest.database) : undefined;
    if (args.mode === 'into' && !into) throw new LifelineError('USAGE', 'mode: into needs `into: <new database>` (the backup names no database).');
    onOutput(`backup ${manifest.id} (data as of ${manifest.snapshotAt ?? manifest.startedAt}) → ${where.label}`);
    const result = await restoreBackup({
      repo,
      manifest,
      conn: where.conn,
      mode: args.mode,
      into,
      tables: args.tables?.map((name) => {
        const [, schema, table] = TABLE.exec(name)!;
        return { schema: schema ?? 'public', table };
      }),
      schemas: args.schemas,
      jobs: args.jobs,
      stagingDir: scratchDir(services),
      signal,
      onProgress,
      safetyBackup: async () => {
        onOutput(`taking a safety backup of ${where.label} before restoring over it`);
        const { manifest: safety } = await logicalBackup({
          conn: where.conn,
          repo,
          label: 'manual',
          reason: `safety backup before in-place restore of ${manifest.id} (run ${run.id})`,
          operator: run.operator,
          compression: config.backup.compression,
          compressionLevel: config.backup.compressionLevel,
          lockWaitTimeoutSeconds: config.backup.lockWaitTimeoutSeconds,
          scope: recordedFacts(manifest).scope,
          preset: recordedFacts(manifest).preset?.name,
          signal,
        });
        return safety.id;
      },
    });
    for (const check of result.checks) onOutput(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name}${check.detail ? `: ${check.detail}` : ''}`);
    onOutput(
      result.mode === 'swap'
        ? `restored into ${result.database}; the previous database is kept as ${result.keptAs} (drop it when satisfied)`
        : result.mode === 'into'
          ? `restored into the new database ${result.database}`
          : `restored over ${result.database}; safety backup ${result.safetyBackupId}`,
    );
    return {
      backupId: manifest.id,
      snapshotAt: manifest.snapshotAt ?? manifest.startedAt,
      database: result.database,
      ...(result.keptAs ? { keptAs: result.keptAs } : {}),
      ...(result.safetyBackupId ? { safetyBackupId: result.safetyBackupId } : {}),
      mode: result.mode,
      server: where.label,
    };
  },
});
