import { Option, type Command } from 'commander';
import path from 'node:path';
import { EXIT, LifelineError } from '../../errors.js';
import type { Run } from '../main.js';
import { verifyLevels, type VerifyLevel } from '../../config/schema.js';
import { repository } from '../repo.js';
import { resolveBackup } from '../../engine/verify/resolve-backup.js';
import { wholeNumberFlag } from '../flags.js';

interface VerifyFlags {
  level?: VerifyLevel;
  staging?: string;
  jobs?: string;
}

export function registerVerify(program: Command, run: Run): void {
  program
    .command('verify [backup]')
    .description('check a backup: integrity < archive < restore < consistency (each includes the ones below)')
    .addOption(new Option('--level <level>', 'how far to climb').choices([...verifyLevels]).default('archive'))
    .option('--staging <url|target>', 'restore into this server (a URL or a configured target) instead of a disposable cluster')
    .option('--jobs <n>', 'parallel pg_restore jobs at the restore level (the dump is staged on local disk first)', '1')
    .action(
      run<VerifyFlags>(async (ctx, flags, [ref = 'latest']) => {
        const [{ verifyBackup }, { parseConnectionUrl }, { targetConn }] = await Promise.all([
          import('../../engine/verify/verify.js'),
          import('../../postgres/conninfo.js'),
          import('../../config/resolve.js'),
        ]);
        const jobs = wholeNumberFlag('--jobs', flags.jobs ?? '1', { min: 1, max: 64 });
        const repo = await repository(ctx);
        const manifest = await resolveBackup(repo, ref);
        const staging = flags.staging
          ? /^postgres(ql)?:/.test(flags.staging)
            ? parseConnectionUrl(flags.staging)
            : Object.hasOwn(ctx.config.targets, flags.staging)
              ? targetConn(ctx.config.targets[flags.staging], ctx.env)
              : unknownStaging(flags.staging, Object.keys(ctx.config.targets))
          : undefined;
        ctx.out.note(`verifying ${manifest.id} up to ${flags.level}`);
        const report = await verifyBackup({
          repo,
          manifest,
          level: flags.level ?? 'archive',
          staging,
          workDir: path.join(ctx.paths.data, 'scratch'),
          jobs,
          assertions: ctx.config.verify.assertions,
          signal: ctx.signal,
          onProgress: (p) => p.message && ctx.out.note(p.message),
        });
        ctx.out.result({ verification: report });
        for (const check of report.checks) ctx.out.line(`${check.ok ? 'ok  ' : 'FAIL'} ${check.level.padEnd(11)} ${check.name}${check.detail ? `: ${check.detail}` : ''}`);
        ctx.out.line(report.ok ? `${manifest.id} verified at level ${report.passedLevel}` : `${manifest.id} FAILED verification (passed: ${report.passedLevel ?? 'none'})`);
        if (report.ok) return EXIT.ok;
        // The verdict above is the report; the error line says in one line what failed, as every failure does.
        const failed = report.checks.find((c) => !c.ok);
        ctx.out.note(`error: ${manifest.id} failed verification at level ${failed?.level ?? flags.level}: ${failed ? `${failed.name}: ${failed.detail ?? 'failed'}` : 'no check passed'}`);
        ctx.out.note(
          failed?.level === 'integrity'
            ? 'hint: The stored backup is damaged or incomplete; keep it for inspection and restore from another one (`lifeline list`).'
            : 'hint: The result is recorded; see the checks above, and `lifeline list` for other backups.',
        );
        return EXIT.failure;
      }),
    );
}

function unknownStaging(name: string, known: string[]): never {
  throw new LifelineError('USAGE', `--staging ${JSON.stringify(name)} is neither a postgresql:// URL nor a configured target.`, {
    hint: known.length ? `Configured targets: ${known.join(', ')}.` : 'Give a URL such as postgresql://user@staging-host/postgres.',
  });
}
