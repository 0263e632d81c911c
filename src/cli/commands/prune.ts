import type { Command } from 'commander';
import { EXIT, LifelineError } from '../../errors.js';
import type { Run } from '../main.js';
import { repository } from '../repo.js';
import { notify } from '../alerts.js';
import { formatBytes } from '../format.js';
import { secondsFlag } from '../flags.js';

export function registerPrune(program: Command, run: Run): void {
  program
    .command('prune')
    .description('delete what the retention policy expires (manifest first), and the WAL no kept base backup needs')
    .option('--dry-run', 'print what would be deleted and why, delete nothing')
    .option('--yes', 'recorded consent for scripts (without it and without a terminal, prune refuses)')
    .option('--wait-lock <seconds>', 'wait for another writer instead of refusing', '0')
    .action(
      run<{ dryRun?: boolean; yes?: boolean; waitLock?: string }>(async (ctx, flags) => {
        const { prune } = await import('../../engine/retention/prune.js');
        const repo = await repository(ctx);
        const policy = ctx.config.policy;
        const plan = await prune({ repo, policy, dryRun: true, signal: ctx.signal });
        for (const k of plan.keep) ctx.out.line(`keep    ${k.id}  ${k.reason}`);
        for (const d of plan.delete) ctx.out.line(`delete  ${d.id}  ${d.reason}`);
        for (const l of plan.leftovers) ctx.out.line(`delete  ${l.id}  ${l.reason}`);
        if (plan.wal.keys.length) ctx.out.line(`delete  ${plan.wal.keys.length} WAL file(s), ${formatBytes(plan.wal.bytes)}: ${plan.wal.reason}`);
        if (plan.refused) {
          ctx.out.result({ prune: plan });
          await notify(ctx, 'prune.failed', 'warning', `prune refused: ${plan.refused}`);
          throw new LifelineError('USAGE', `Prune refused: ${plan.refused}.`, { hint: 'Verify a backup (`lifeline verify`) or loosen policy.retention; nothing was deleted.' });
        }
        const anything = plan.delete.length || plan.wal.keys.length || plan.leftovers.length;
        if (flags.dryRun) {
          ctx.out.result({ prune: plan });
          ctx.out.line(anything ? '(dry run: nothing deleted)' : 'nothing to prune');
          return EXIT.ok;
        }
        // Nothing the policy expires: still clear the unfinished uploads killed processes left (no
        // consent needed), unless another writer holds the lock: that waits for the next prune.
        if (!anything) {
          const result = await prune({ repo, policy, lockWaitMs: Number(flags.waitLock ?? 0) * 1000, signal: ctx.signal }).catch((error: unknown) => {
            if (error instanceof LifelineError && error.code === 'REPO_LOCKED') return undefined;
            throw error;
          });
          if (!result) {
            ctx.out.result({ prune: plan });
            ctx.out.line('nothing to prune');
            return EXIT.ok;
          }
          ctx.out.result({ prune: result });
          ctx.out.line(result.leftovers.length || result.partialUploads.count ? `removed ${result.leftovers.length} leftover(s) and ${result.partialUploads.count} unfinished upload(s)` : 'nothing to prune');
          return EXIT.ok;
        }
        if (!flags.yes && !(process.stdin.isTTY && process.stderr.isTTY)) {
          throw new LifelineError('INPUT_NEEDED', `Prune would delete ${plan.delete.length} backup(s) and there is no terminal to confirm.`, { hint: 'Pass --yes (recorded consent), or --dry-run to look first.' });
        }
        if (!flags.yes) {
          const { typedConfirmation } = await import('../prompt.js');
          await typedConfirmation({ expected: 'prune', question: `Delete ${plan.delete.length} backup(s) and ${plan.wal.keys.length} WAL file(s)?`, flag: '--yes' });
        }
        const result = await prune({ repo, policy, lockWaitMs: secondsFlag('--wait-lock', flags.waitLock ?? '0') * 1000, signal: ctx.signal, onProgress: (p) => p.message && ctx.out.note(p.message) });
        ctx.out.result({ prune: result });
        ctx.out.line(`deleted ${result.deleted.length} backup(s) and ${result.walDeleted} WAL file(s)${result.leftovers.length ? `, and ${result.leftovers.length} leftover(s) of killed backups` : ''}`);
        await notify(ctx, 'prune.done', 'info', `prune deleted ${result.deleted.length} backup(s) and ${result.walDeleted} WAL file(s) from ${repo.store.location}`, { deleted: result.deleted });
        return EXIT.ok;
      }),
    );
}
