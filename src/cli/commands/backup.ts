import { Option, type Command } from 'commander';
import { EXIT, LifelineError } from '../../errors.js';
import type { Run } from '../main.js';
import { backupLabels } from '../../storage/manifest.js';
import type { VerifyLevel } from '../../config/schema.js';
import { formatBytes, formatDuration } from '../format.js';
import { notify } from '../alerts.js';
import { targetScope } from '../../config/presets.js';
import { secondsFlag, wholeNumberFlag } from '../flags.js';

interface BackupFlags {
  label?: string;
  reason?: string;
  operator?: string;
  physical?: boolean;
  jobs?: string;
  compress?: string;
  verbose?: boolean;
  verify?: string;
  waitLock?: string;
  rolePasswords?: boolean;
}

export function registerBackup(program: Command, run: Run): void {
  program
    .command('backup')
    .description('take a backup of the target database into the repository')
    .addOption(new Option('--label <label>', 'why this backup exists').choices([...backupLabels]))
    .option('--reason <text>', 'free text recorded in the manifest (required for --label manual)')
    .option('--operator <name>', 'who takes the backup (else SUDO_USER, else the OS user)')
    .option('--verbose', 'print every table as pg_dump reaches it')
    .option('--physical', 'a base backup of the whole cluster with pg_basebackup, for point-in-time recovery (label defaults to pitr)')
    .option('--jobs <n>', 'parallel pg_dump jobs: above 1, a directory-format dump stored file by file as each completes (default: the config\'s backup.jobs, else 1)')
    .option('--compress <codec[:level]>', 'zstd, lz4, gzip or none, with an optional level: zstd:3, gzip:6 (default: the config\'s backup.compression)')
    .option('--role-passwords', "keep the roles' password hashes in globals.sql; needs an encrypted repository and a role that can read pg_authid (default: the config's backup.rolePasswords)")
    .option('--no-role-passwords', 'leave the password hashes out even when backup.rolePasswords is set')
    .option('--wait-lock <seconds>', 'wait this long for another writer (backup, prune) to finish instead of refusing', '0')
    .addOption(new Option('--verify <level>', 'verify right after the backup (default: the config\'s backup.verifyAfter)').choices(['none', 'integrity', 'archive', 'restore', 'consistency']))
    .action(
      run<BackupFlags>(async (ctx, flags) => {
        const label = (flags.label ?? (flags.physical ? 'pitr' : 'daily')) as (typeof backupLabels)[number];
        if (label === 'manual' && !flags.reason?.trim()) {
          throw new LifelineError('USAGE', 'A manual backup needs a reason.', { hint: 'Add --reason "<why>", e.g. --reason "before schema change".' });
        }
        const jobs = flags.jobs === undefined ? (ctx.config.backup.jobs ?? 1) : wholeNumberFlag('--jobs', flags.jobs, { min: 1, max: 64 });
        if (jobs > 1 && flags.physical && flags.jobs !== undefined) throw new LifelineError('USAGE', '--jobs applies to logical backups; pg_basebackup streams one tar.');
        const { parseCompression } = await import('../../engine/compress/spec.js');
        const compression = flags.compress
          ? parseCompression(flags.compress)
          : { algorithm: ctx.config.backup.compression, level: ctx.config.backup.compressionLevel };
        const waitLockMs = secondsFlag('--wait-lock', flags.waitLock ?? '0') * 1000;
        const rolePasswords = flags.rolePasswords ?? ctx.config.backup.rolePasswords;
        if (flags.rolePasswords && flags.physical) {
          throw new LifelineError('USAGE', '--role-passwords applies to logical backups; a base backup copies the whole cluster, pg_authid included.');
        }
        const [{ logicalBackup, UNREADABLE_PASSWORDS }, { openRepository }, { operatorName }, { refuseUnencryptedRolePasswords }, path] = await Promise.all([
          import('../../engine/backup/logical.js'),
          import('../../storage/open-repository.js'),
          import('../../engine/operator.js'),
          import('../../engine/backup/globals.js'),
          import('node:path'),
        ]);
        const scratch = path.join(ctx.paths.data, 'scratch');
        const repoLocation = ctx.repo();
        const repo = await openRepository(repoLocation.url);
        if (rolePasswords && !flags.physical) refuseUnencryptedRolePasswords(repo);
        const target = await ctx.connect();
        ctx.out.note(`backing up ${target.label} into ${repo.store.location}`);
        const started = Date.now();
        const common = {
          conn: target.conn,
          repo,
          label,
          reason: flags.reason,
          operator: operatorName(flags.operator, ctx.env),
          compression: compression.algorithm,
          compressionLevel: compression.level,
          lockWaitMs: waitLockMs,
          signal: ctx.signal,
          onProgress: (p: { phase?: string; message?: string }) => {
            if (p.phase === 'warning') return; // said once, after the result
            if (p.message && (flags.verbose || !p.message.startsWith('dumping '))) ctx.out.note(p.message);
          },
        };
        const { manifest } = await (
          flags.physical
            ? (await import('../../engine/backup/physical.js')).physicalBackup(common)
            : logicalBackup({
                ...common,
                lockWaitTimeoutSeconds: ctx.config.backup.lockWaitTimeoutSeconds,
                scope: targetScope(target.settings),
                preset: target.settings?.preset,
                jobs,
                stagingDir: scratch,
                rolePasswords,
              })
        ).catch(async (error: Error) => {
          await notify(ctx, 'backup.failed', 'critical', `backup (${label}) of ${target.label} FAILED: ${error.message}`);
          throw error;
        });
        const size = manifest.objects.reduce((sum, o) => sum + o.size, 0);
        const rows = manifest.tables?.reduce((sum, t) => sum + t.rows, 0) ?? 0;
        const { algorithm, level, ratio } = manifest.compression;
        ctx.out.line(
          `backup ${manifest.id} complete: ${formatBytes(size)} stored (${algorithm}${level ? `:${level}` : ''}${ratio ? `, ratio ${ratio.toFixed(2)}` : ''}), ` +
            `${manifest.tables?.length ?? 0} tables, ${rows} rows, ${formatDuration(Date.now() - started)}`,
        );
        const verifyLevel = flags.verify ?? ctx.config.backup.verifyAfter;
        let verification;
        if (verifyLevel !== 'none') {
          const { verifyBackup } = await import('../../engine/verify/verify.js');
          verification = await verifyBackup({
            repo,
            manifest,
            level: verifyLevel as VerifyLevel,
            workDir: scratch,
            jobs,
            assertions: ctx.config.verify.assertions,
            signal: ctx.signal,
          });
          const failed = verification.checks.filter((c) => !c.ok);
          ctx.out.line(
            verification.ok
              ? `verified at level ${verification.passedLevel}`
              : `VERIFICATION FAILED: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`,
          );
        }
        if (ctx.config.copyTo && verification?.ok) {
          const { copyVerifiedBackup } = await import('../../engine/copy/copy.js');
          await copyVerifiedBackup({ from: repo, copyTo: ctx.config.copyTo, id: manifest.id, verified: true, signal: ctx.signal, onProgress: (p) => p.message && ctx.out.note(p.message) }).catch(
            async (error: Error) => {
              await notify(ctx, 'backup.failed', 'critical', `backup ${manifest.id} is complete but its second copy failed: ${error.message}`);
              throw new LifelineError('BACKUP_FAILED', `Backup ${manifest.id} is complete, but copying it to ${ctx.config.copyTo} failed: ${error.message}`, {
                hint: `Retry with \`lifeline copy ${manifest.id} --to ${ctx.config.copyTo}\`.`,
              });
            },
          );
        }
        // Asked for but not readable: the backup is good, without what the operator asked for.
        const passwordsMissing = manifest.extra?.rolePasswords === 'unreadable';
        if (passwordsMissing) ctx.out.note(`warning: ${UNREADABLE_PASSWORDS}`);
        ctx.out.result({ backup: manifest, verification: verification ?? null });
        await notify(
          ctx,
          verification && !verification.ok ? 'verify.failed' : 'backup.succeeded',
          verification && !verification.ok ? 'critical' : 'info',
          verification && !verification.ok
            ? `backup ${manifest.id} was taken but FAILED verification`
            : `backup ${manifest.id} complete (${formatBytes(size)}${verification ? `, verified at ${verification.passedLevel}` : ''})`,
          { id: manifest.id, label, sizeBytes: size },
        );
        return verification && !verification.ok ? EXIT.failure : passwordsMissing ? EXIT.warning : EXIT.ok;
      }),
    );
}
