import { z } from 'zod';
import { LifelineError } from '../../errors.js';
import { verifyLevelSchema } from '../../config/schema.js';
import { defineAction } from '../registry.js';
import { backupRefSchema, locate, needConfig, needRepo, scratchDir } from '../engine-services.js';

/**
 * Climbs the verification ladder for one backup (integrity, archive, restore, consistency) and
 * records the result in the repository, like `lifeline verify`. A level that fails fails the step.
 */
export const verifyAction = defineAction({
  name: 'verify',
  summary: 'verify a backup up to a level (integrity, archive, restore, consistency) and record the result',
  paramsSchema: z
    .object({
      backup: backupRefSchema.default('latest'),
      level: verifyLevelSchema.default('consistency').describe('integrity: sizes and sha256; archive: pg_restore reads it all; restore: restored into a disposable cluster; consistency: rows, fingerprints, keys and indexes equal the manifest'),
      sandbox: z
        .string()
        .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/)
        .optional()
        .describe('restore into this lifeline sandbox server (levels restore and consistency) instead of a disposable cluster'),
    })
    .strict(),
  outputs: ['backupId', 'snapshotAt', 'passedLevel', 'checks'],
  describe: (args) => `verify backup ${args.backup} up to level ${args.level}${args.sandbox ? ` (restoring into sandbox "${args.sandbox}")` : ''}`,
  async run({ with: args, signal, onProgress, onOutput, services }) {
    const config = needConfig(services);
    const repo = await needRepo(services);
    const manifest = await repo.resolveBackup(args.backup);
    const staging = args.sandbox ? (await locate(services, { sandbox: args.sandbox, database: 'postgres' }, signal)).conn : undefined;
    const { verifyBackup } = await import('../../engine/verify/verify.js');
    onOutput(`verifying ${manifest.id} (taken ${manifest.startedAt}) up to ${args.level}`);
    const report = await verifyBackup({ repo, manifest, level: args.level, staging, workDir: scratchDir(services), assertions: config.verify.assertions, signal, onProgress });
    for (const check of report.checks) onOutput(`${check.ok ? 'ok  ' : 'FAIL'} ${check.level} ${check.name}${check.detail ? `: ${check.detail}` : ''}`);
    if (!report.ok) {
      const failed = report.checks.filter((check) => !check.ok);
      throw new LifelineError('VERIFY_FAILED', `Backup ${manifest.id} failed verification at level ${args.level}${report.passedLevel ? ` (passed ${report.passedLevel})` : ''}: ${failed.map((c) => `${c.name}: ${c.detail ?? 'failed'}`).join('; ')}`, {
        hint: 'The result is recorded in the repository; pick another backup (`lifeline list`) or take a new one.',
      });
    }
    return { backupId: manifest.id, snapshotAt: manifest.snapshotAt ?? manifest.startedAt, passedLevel: report.passedLevel, checks: report.checks.length };
  },
});
