import type { Command } from 'commander';
import path from 'node:path';
import { EXIT, LifelineError } from '../../errors.js';
import type { Run } from '../main.js';
import { formatDuration } from '../format.js';
import { nameFlag, secondsFlag } from '../flags.js';

interface PitrFlags {
  to?: string;
  tz?: string;
  dataDir?: string;
  into?: string;
  database?: string;
  dryRun?: boolean;
  yes?: boolean;
  operator?: string;
  timeout?: string;
}

export function registerPitr(program: Command, run: Run): void {
  program
    .command('pitr')
    .description('point-in-time recovery from a base backup and the WAL archive, into a new data directory or a new database')
    .requiredOption('--to <time>', 'target time: "YYYY-MM-DD HH:MM:SS" (in --tz) or ISO 8601 with an offset')
    .option('--tz <zone>', 'IANA zone for reading and showing times (else the configured timezone, else the system zone)')
    .option('--data-dir <dir>', 'recover into this new folder and leave the cluster running for hand-over')
    .option('--into <db>', 'carry the database into this NEW database on the target server (--db), then remove the recovered cluster')
    .option('--database <name>', 'with --into: which database of the recovered cluster to carry (default: the target connection\'s database)')
    .option('--dry-run', 'show the window, the chosen base backup and the plan; touch nothing')
    .option('--yes', 'recorded consent for scripts (no confirmation prompt)')
    .option('--operator <name>', 'who runs the recovery')
    .option('--timeout <seconds>', 'give up waiting for recovery after this long', '3600')
    .action(
      run<PitrFlags>(async (ctx, flags) => {
        const { parseTargetTime, resolveZone, formatUtcAndLocal } = await import('../../engine/pitr/time.js');
        const zone = resolveZone(flags.tz, ctx.config.timezone);
        const target = parseTargetTime(flags.to ?? '', zone);
        if (Boolean(flags.dataDir) === Boolean(flags.into)) {
          throw new LifelineError('USAGE', 'Say where the recovered data goes: --data-dir <new folder> or --into <new database> (one of them).');
        }
        if (flags.database && !flags.into) throw new LifelineError('USAGE', '--database goes with --into.');
        const timeoutMs = secondsFlag('--timeout', flags.timeout, { min: 1 }) * 1000;
        if (flags.into) nameFlag('--into', flags.into);
        if (flags.database) nameFlag('--database', flags.database);
        ctx.out.note(`target: ${formatUtcAndLocal(target.at, zone, target.local)}${target.zone !== zone ? ` (given as ${target.zone})` : ''}`);

        const [{ pointInTimeRecovery }, { describeWindow }, { repository }, { operatorName }, { typedConfirmation }] = await Promise.all([
          import('../../engine/pitr/pitr.js'),
          import('../../engine/pitr/plan.js'),
          import('../repo.js'),
          import('../../engine/operator.js'),
          import('../prompt.js'),
        ]);
        const repo = await repository(ctx);
        const operator = operatorName(flags.operator, ctx.env);
        let mode: Parameters<typeof pointInTimeRecovery>[0]['mode'];
        let targetLabel = '';
        if (flags.into) {
          const server = await ctx.connect();
          const database = flags.database ?? server.conn.database ?? server.conn.user ?? 'postgres';
          mode = { kind: 'into', into: flags.into, target: server.conn, database, workDir: path.join(ctx.paths.data, 'scratch') };
          targetLabel = server.label;
        } else {
          mode = { kind: 'data-dir', dataDir: path.resolve(flags.dataDir!) };
        }
        const common = {
          repo,
          target,
          zone,
          mode,
          timeoutMs,
          signal: ctx.signal,
          onProgress: (p: { message?: string }) => p.message && ctx.out.note(p.message),
        };
        const plan = await pointInTimeRecovery({ ...common, dryRun: true });
        ctx.out.note(`recoverable window: ${describeWindow(plan.window, zone)}`);
        ctx.out.note(`plan${targetLabel ? ` (target server ${targetLabel})` : ''}:`);
        plan.plan.forEach((step, i) => ctx.out.note(`  ${i + 1}. ${step}`));
        if (flags.dryRun) {
          ctx.out.result({ ...plan, planned: undefined, target: target.utc, targetDetail: plan.target });
          ctx.out.line('dry run: nothing was touched');
          return EXIT.ok;
        }
        if (!flags.yes) {
          const expected = flags.into ?? path.basename(path.resolve(flags.dataDir!));
          await typedConfirmation({ expected, question: `Recover to ${target.utc} into ${flags.into ? `new database "${flags.into}"` : path.resolve(flags.dataDir!)}.`, flag: '--yes' });
        }
        ctx.out.note(`consent: ${flags.yes ? '--yes' : 'typed confirmation'} by ${operator}`);
        const result = await pointInTimeRecovery({ ...common, plan: plan.planned });
        ctx.out.result({ ...result, planned: undefined, target: target.utc, targetDetail: result.target, operator });
        ctx.out.line(`recovered to ${formatUtcAndLocal(target.at, zone, target.local)} from base backup ${result.baseBackup}`);
        if (result.stoppedBefore) ctx.out.line(`proof: replay stopped before the first commit after the target (${result.stoppedBefore}); last replayed commit ${result.lastReplayedCommitAt ?? 'none'}`);
        if (result.dataDir) {
          ctx.out.line(`the recovered cluster is running: data directory ${result.dataDir}, port ${result.port}, socket ${result.socketDir}`);
          ctx.out.line(`connect: psql "host=${result.socketDir} port=${result.port} user=postgres dbname=${result.database ?? 'postgres'}"`);
        } else {
          ctx.out.line(`"${result.database}" as of the target is now database "${result.into}"; the recovered cluster was removed`);
        }
        if (result.timings) ctx.out.line(`took ${formatDuration(result.timings.totalMs)} (extract ${formatDuration(result.timings.extractMs)}, recovery ${formatDuration(result.timings.recoverMs)})`);
        for (const step of result.next) ctx.out.line(`next: ${step}`);
        return EXIT.ok;
      }),
    );
}

