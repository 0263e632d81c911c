import { z } from 'zod';
import { LifelineError } from '../../errors.js';
import { verifyLevels } from '../../config/schema.js';
import { backupLabels } from '../../storage/manifest.js';
import { defineAction } from '../registry.js';
import { backupRefSchema, backupSize, findBackup, formatBytes, isLatest, locate, needConfig, needRepo, resolveBackup, scratchDir, whereShape } from '../engine-services.js';

/**
 * Takes a logical backup of the target (or a sandbox) and verifies it right after, like
 * `lifeline backup`. With `reuse`, an existing backup that matches is used instead, and a new one
 * is only taken when the repository holds none: how a drill bootstraps itself.
 */
export const backupAction = defineAction({
  name: 'backup',
  summary: 'take a logical backup of the target (or a sandbox) and verify it; or reuse an existing one',
  paramsSchema: z
    .object({
      label: z.enum(backupLabels).default('manual').describe('why the backup exists: daily, pitr, pre-deploy, manual or drill'),
      reason: z.string().optional().describe('free text recorded in the manifest (default: the runbook run that took it)'),
      verify: z
        .enum([...verifyLevels, 'none'])
        .optional()
        .describe("verify right after the backup, up to this level (default: the config's backup.verifyAfter)"),
      reuse: backupRefSchema
        .optional()
        .describe('use this backup instead when it exists (latest / latest-verified: take a new one only when the repository has none)'),
      ...whereShape,
    })
    .strict(),
  outputs: ['backupId', 'snapshotAt', 'taken', 'sizeBytes', 'verifiedLevel', 'tables', 'rows'],
  describe: (args) =>
    `${args.reuse ? `use backup ${args.reuse} if the repository has it, else ` : ''}take a ${args.label} backup of ${
      args.sandbox ? `sandbox "${args.sandbox}"` : 'the target'
    }${args.database ? ` (database ${args.database})` : ''}${args.verify !== 'none' ? ` and verify it${args.verify ? ` (${args.verify})` : ''}` : ''}`,
  async run({ with: args, signal, onProgress, onOutput, services, run }) {
    if (args.reuse) {
      const existing = isLatest(args.reuse) ? await findBackup(services, args.reuse) : await resolveBackup(services, args.reuse);
      if (existing) {
        onOutput(`using backup ${existing.id} (taken ${existing.startedAt}${existing.verifiedLevel ? `, verified at ${existing.verifiedLevel}` : ', not verified'}): no new backup needed`);
        return outputsOf(existing, false, existing.verifiedLevel);
      }
      onOutput(`the repository has no ${args.reuse} backup: taking one now`);
    }
    const config = needConfig(services);
    const repo = await needRepo(services);
    const source = await locate(services, args, signal);
    const [{ logicalBackup }, { verifyBackup }, { targetScope }] = await Promise.all([
      import('../../engine/backup/logical.js'),
      import('../../engine/verify/verify.js'),
      import('../../config/presets.js'),
    ]);
    onOutput(`backing up ${source.label} into ${repo.location}`);
    const { manifest } = await logicalBackup({
      conn: source.conn,
      repo,
      label: args.label,
      reason: args.reason ?? `runbook run ${run.id}`,
      operator: run.operator,
      compression: config.backup.compression,
      compressionLevel: config.backup.compressionLevel,
      lockWaitTimeoutSeconds: config.backup.lockWaitTimeoutSeconds,
      jobs: config.backup.jobs,
      stagingDir: scratchDir(services),
      // Like `lifeline backup`: a configured target's preset and include/exclude apply.
      preset: source.settings?.preset,
      scope: source.otherDatabase ? undefined : targetScope(source.settings),
      rolePasswords: config.backup.rolePasswords,
      signal,
      onProgress,
    });
    const level = args.verify ?? config.backup.verifyAfter;
    let verifiedLevel: string | undefined;
    if (level !== 'none') {
      const report = await verifyBackup({ repo, manifest, level, workDir: scratchDir(services), jobs: config.backup.jobs, assertions: config.verify.assertions, signal, onProgress });
      if (!report.ok) {
        const failed = report.checks.filter((check) => !check.ok);
        throw new LifelineError('VERIFY_FAILED', `Backup ${manifest.id} was taken but failed verification at level ${level}: ${failed.map((c) => `${c.name}: ${c.detail ?? 'failed'}`).join('; ')}`, {
          hint: 'Do not rely on this backup; find out why (`lifeline verify` shows every check) and take another.',
        });
      }
      verifiedLevel = report.passedLevel;
    }
    onOutput(`backup ${manifest.id}: ${formatBytes(backupSize(manifest))} stored, ${manifest.tables?.length ?? 0} tables${verifiedLevel ? `, verified at ${verifiedLevel}` : ''}`);
    return outputsOf(manifest, true, verifiedLevel);
  },
});

function outputsOf(
  manifest: { id: string; snapshotAt?: string; startedAt: string; objects: Array<{ size: number }>; tables?: Array<{ rows: number }> },
  taken: boolean,
  verifiedLevel: string | undefined,
): Record<string, unknown> {
  return {
    backupId: manifest.id,
    snapshotAt: manifest.snapshotAt ?? manifest.startedAt,
    taken,
    sizeBytes: backupSize(manifest),
    ...(verifiedLevel ? { verifiedLevel } : {}),
    tables: manifest.tables?.length ?? 0,
    rows: manifest.tables?.reduce((sum, table) => sum + table.rows, 0) ?? 0,
  };
}
