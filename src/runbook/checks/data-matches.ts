import { z } from 'zod';
import { defineCheck } from '../registry.js';
import { backupRefSchema, checkFailed, locate, needConfig, needRepo, whereShape } from '../engine-services.js';

/**
 * The consistency level against a live (or restored) database: every table's row count and
 * content fingerprint equal what the backup's manifest recorded in the dump's own snapshot,
 * every foreign key holds, every index is valid, and the configured assertions are true.
 * This is what proves a restore complete rather than merely finished.
 */
export const dataMatchesBackupCheck = defineCheck({
  name: 'data.matches-backup',
  summary: "a database's rows and fingerprints equal a backup's manifest; keys, indexes and configured assertions hold",
  paramsSchema: z
    .object({
      backup: backupRefSchema.default('latest'),
      assertions: z.boolean().default(true).describe('also run the SQL assertions from the config (verify.assertions)'),
      ...whereShape,
    })
    .strict(),
  describe: (args) => `${args.sandbox ? `sandbox "${args.sandbox}"` : 'the target'}${args.database ? ` database ${args.database}` : ''} matches backup ${args.backup}`,
  async run({ with: args, signal, services }) {
    try {
      const config = needConfig(services);
      const repo = await needRepo(services);
      const backup = await repo.resolveBackup(args.backup);
      const where = await locate(services, args, signal);
      const { checkConsistency } = await import('../../engine/verify/consistency.js');
      const checks = await checkConsistency({ conn: where.conn, expected: backup.tables ?? [], assertions: args.assertions ? config.verify.assertions : [], signal });
      const failed = checks.filter((check) => !check.ok);
      const tables = checks.filter((check) => check.name.startsWith('table ')).length;
      if (failed.length) {
        return { ok: false, detail: `${where.label} differs from backup ${backup.id}: ${failed.slice(0, 3).map((c) => `${c.name}: ${c.detail ?? 'failed'}`).join('; ')}${failed.length > 3 ? ` (+${failed.length - 3} more)` : ''}` };
      }
      const others = checks.filter((check) => !check.name.startsWith('table ')).map((check) => check.name.replace(/^assertion .*/, 'assertions'));
      return { ok: true, detail: `${tables} tables equal backup ${backup.id} (row counts and fingerprints); ${[...new Set(others)].join(', ')} hold` };
    } catch (error) {
      return checkFailed(error, signal);
    }
  },
});
