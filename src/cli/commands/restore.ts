import type { Command } from 'commander';
import path from 'node:path';
import { EXIT, LifelineError } from '../../errors.js';
import type { Run } from '../main.js';
import { repository } from '../repo.js';
import { resolveBackup } from '../../engine/verify/resolve-backup.js';
import { requireTerminal, typedConfirmation } from '../prompt.js';
import { nameFlag, wholeNumberFlag } from '../flags.js';

interface RestoreFlags {
  into?: string;
  inPlace?: boolean;
  table?: string[];
  schema?: string[];
  jobs?: string;
  dryRun?: boolean;
  yes?: boolean;
  operator?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerRestore(program: Command, run: Run): void {
  program
    .command('restore [backup]')
    .description('restore a logical backup (default latest-verified) without destroying the live database first')
    .option('--into <db>', 'restore into a new side database; the live database is untouched')
    .option('--in-place', 'restore over the live database in one transaction, after a safety backup')
    .option('--table <schema.table>', 'only this table (with --into); repeatable', collect)
    .option('--schema <schema>', 'only this schema (with --into); repeatable', collect)
    .option('--jobs <n>', 'parallel pg_restore jobs; the dump is staged on local disk first (parallel ranged reads), as a directory-format backup always is', '1')
    .option('--dry-run', 'print the plan and run the preflight only')
    .option('--yes', 'recorded consent for scripts (no typed confirmation)')
    .option('--operator <name>', 'who runs the restore')
    .action(
      run<RestoreFlags>(async (ctx, flags, [ref = 'latest-verified']) => {
        if (flags.into && flags.inPlace) throw new LifelineError('USAGE', '--into and --in-place exclude each other.');
        if ((flags.table?.length || flags.schema?.length) && !flags.into) {
          throw new LifelineError('USAGE', '--table/--schema need --into <db>.', { hint: 'A partial restore goes to a side database, e.g. --into shop_recovered.' });
        }
        const jobs = wholeNumberFlag('--jobs', flags.jobs ?? '1', { min: 1, max: 64 });
        if (flags.into) nameFlag('--into', flags.into);
        for (const schema of flags.schema ?? []) nameFlag('--schema', schema);
        const tables = (flags.table ?? []).map((t) => {
          const m = /^([^.]+)\.([^.]+)$/.exec(t) ?? /^()([^.]+)$/.exec(t);
          if (!m) throw new LifelineError('USAGE', `Not a table name: ${JSON.stringify(t)}.`, { hint: 'Use schema.table, e.g. public.orders.' });
          return { schema: m[1] ? nameFlag('--table (schema)', m[1]) : 'public', table: nameFlag('--table', m[2]) };
        });
        const [{ restoreBackup }, { logicalBackup }, { operatorName }, { recordedFacts }] = await Promise.all([
          import('../../engine/restore/restore.js'),
          import('../../engine/backup/logical.js'),
          import('../../engine/operator.js'),
          import('../../engine/restore/recorded.js'),
        ]);
        const repo = await repository(ctx);
        const manifest = await resolveBackup(repo, ref, { kind: 'logical' });
        const target = await ctx.connect();
        const mode = flags.into ? 'into' : flags.inPlace ? 'in-place' : 'swap';
        const operator = operatorName(flags.operator, ctx.env);
        const options = {
          repo,
          manifest,
          conn: target.conn,
          mode,
          into: flags.into,
          tables,
          schemas: flags.schema,
          jobs,
          stagingDir: path.join(ctx.paths.data, 'scratch'),
          signal: ctx.signal,
          onProgress: (p: { message?: string }) => p.message && ctx.out.note(p.message),
          safetyBackup: async () =>
            (
              await logicalBackup({
                conn: target.conn,
                repo,
                label: 'manual',
                reason: `safety backup before in-place restore of ${manifest.id}`,
                operator,
                compression: ctx.config.backup.compression,
                lockWaitTimeoutSeconds: ctx.config.backup.lockWaitTimeoutSeconds,
                // What the restore replaces: the backup's own scope (a platform's schemas stay out).
                scope: recordedFacts(manifest).scope,
                preset: recordedFacts(manifest).preset?.name,
                // Another writer (a verification record, a backup finishing) is worth a short wait.
                lockWaitMs: 120_000,
                signal: ctx.signal,
                onProgress: (p) => p.message && p.phase === 'lock' && ctx.out.note(p.message),
              })
            ).manifest.id,
        } as const;
        const needsConsent = mode !== 'into' && !flags.yes && !target.sandbox && !flags.dryRun;
        const question = `This replaces database "${target.conn.database ?? ''}" with backup ${manifest.id}.`;
        // Fail before reading the whole backup when nobody could answer the confirmation anyway.
        if (needsConsent) requireTerminal(question, '--yes');
        const showPlan = (steps: string[]) => {
          ctx.out.note(`restore plan for ${target.label}:`);
          steps.forEach((step, i) => ctx.out.note(`  ${i + 1}. ${step}`));
        };
        if (flags.dryRun) {
          const plan = await restoreBackup({ ...options, dryRun: true });
          showPlan(plan.plan);
          ctx.out.result({ dryRun: true, backup: manifest.id, mode, plan: plan.plan, preflight: plan.preflight });
          return plan.preflight.problems.length ? EXIT.failure : EXIT.ok;
        }
        const result = await restoreBackup({
          ...options,
          // Runs after the integrity check and preflight passed, before the first change.
          confirm: async ({ plan }) => {
            showPlan(plan);
            if (needsConsent) await typedConfirmation({ expected: target.conn.database ?? '', question, flag: '--yes' });
            ctx.out.note(`consent: ${flags.yes ? '--yes' : mode === 'into' ? 'side database (nothing replaced)' : target.sandbox ? 'sandbox target' : 'typed confirmation'} by ${operator}`);
          },
        });
        ctx.out.result({ restore: { ...result, backup: manifest.id, operator } });
        ctx.out.line(
          mode === 'swap'
            ? `restored ${manifest.id} into ${result.database}; the previous database is kept as ${result.keptAs} (drop it when satisfied)`
            : mode === 'into'
              ? `restored ${manifest.id} into ${result.database}; the live database was not touched`
              : `restored ${manifest.id} over ${result.database}; safety backup ${result.safetyBackupId}`,
        );
        return EXIT.ok;
      }),
    );
}
