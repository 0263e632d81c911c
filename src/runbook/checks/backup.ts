import { z } from 'zod';
import { verifyLevelSchema } from '../../config/schema.js';
import { parseDuration, durationSchema } from '../schema.js';
import { defineCheck } from '../registry.js';
import { backupRefSchema, backupSize, checkFailed, formatAge, formatBytes, needRepo } from '../engine-services.js';

/** The backup a step is about to rely on exists in the repository (and is recent enough). */
export const backupExistsCheck = defineCheck({
  name: 'backup.exists',
  summary: 'a backup exists in the repository (optionally no older than max_age)',
  paramsSchema: z
    .object({
      backup: backupRefSchema.default('latest'),
      max_age: durationSchema.optional().describe('fail when the backup is older than this, e.g. 26h'),
    })
    .strict(),
  describe: (args) => `backup ${args.backup} exists${args.max_age ? ` and is at most ${args.max_age} old` : ''}`,
  async run({ with: args, signal, services }) {
    try {
      const repo = await needRepo(services);
      const backup = await repo.resolveBackup(args.backup);
      const at = backup.snapshotAt ?? backup.startedAt;
      const detail = `${backup.id} (${backup.label}, ${formatBytes(backup.sizeBytes ?? backupSize(backup))}, data as of ${at}, ${formatAge(at)} ago)`;
      if (args.max_age && Date.now() - Date.parse(at) > parseDuration(args.max_age)) {
        return { ok: false, detail: `${detail} is older than ${args.max_age}: a recovery from it would lose more than that` };
      }
      return { ok: true, detail };
    } catch (error) {
      return checkFailed(error, signal);
    }
  },
});

/** The backup passed verification at (at least) a level: restoring an unverified backup is a gamble. */
export const backupVerifiedCheck = defineCheck({
  name: 'backup.verified',
  summary: 'a backup has passed verification at a level (default: the configured minimum)',
  paramsSchema: z
    .object({
      backup: backupRefSchema.default('latest-verified'),
      level: verifyLevelSchema.optional().describe('the lowest level that counts (default: verify.minimumLevel, archive)'),
    })
    .strict(),
  describe: (args) => `backup ${args.backup} is verified${args.level ? ` at level ${args.level} or higher` : ''}`,
  async run({ with: args, signal, services }) {
    try {
      const repo = await needRepo(services);
      const { levelRank } = await import('../../storage/verification.js');
      const backup = await repo.resolveBackup(args.backup);
      const minimum = args.level ?? repo.minimumVerifiedLevel;
      const latest = backup.verifications.at(-1);
      if (!backup.verifiedLevel) {
        return {
          ok: false,
          detail: `${backup.id} has never passed a verification${latest ? ` (last attempt ${latest.finishedAt}: ${latest.error ?? latest.checks.find((c) => !c.ok)?.detail ?? 'failed'})` : ''}; run \`lifeline verify ${backup.id} --level ${minimum}\``,
        };
      }
      if (levelRank(backup.verifiedLevel) < levelRank(minimum)) {
        return { ok: false, detail: `${backup.id} has passed ${backup.verifiedLevel} only; ${minimum} or higher is needed (\`lifeline verify ${backup.id} --level ${minimum}\`)` };
      }
      return { ok: true, detail: `${backup.id} passed ${backup.verifiedLevel} (at least ${minimum} needed)` };
    } catch (error) {
      return checkFailed(error, signal);
    }
  },
});
