import type { Command } from 'commander';
import { EXIT, LifelineError } from '../../errors.js';
import type { Run } from '../main.js';
import { formatBytes, formatDuration } from '../format.js';
import { secondsFlag } from '../flags.js';

interface CopyFlags {
  to?: string;
  all?: boolean;
  wal?: boolean;
  waitLock?: string;
}

export function registerCopy(program: Command, run: Run): void {
  program
    .command('copy [backup]')
    .description('copy a backup (or --all, with the WAL archive) into a second repository; the manifest goes last, every object is re-read and its sha256 checked there')
    .option('--to <repo>', 'the second repository: a directory or s3://bucket/prefix (default: the config\'s copyTo)')
    .option('--all', 'every backup, oldest first, and the WAL archive')
    .option('--no-wal', 'with --all: leave the WAL archive out')
    .option('--wait-lock <seconds>', 'wait this long for a writer of the destination', '30')
    .action(
      run<CopyFlags>(async (ctx, flags, [ref]) => {
        const toUrl = flags.to ?? ctx.config.copyTo;
        if (!toUrl) throw new LifelineError('USAGE', 'Where to? Pass --to <repo> (or set copyTo in the config).', { hint: 'e.g. lifeline copy latest --to s3://bucket/lifeline' });
        if (ref && flags.all) throw new LifelineError('USAGE', 'Name a backup or pass --all, not both.');
        const waitSeconds = secondsFlag('--wait-lock', flags.waitLock ?? '30');
        const [{ copyBackups }, { openRepository }, path] = await Promise.all([
          import('../../engine/copy/copy.js'),
          import('../../storage/open-repository.js'),
          import('node:path'),
        ]);
        const options = { minimumVerifiedLevel: ctx.config.verify.minimumLevel };
        const from = await openRepository(ctx.repo().url, options);
        const to = await openRepository(toUrl.startsWith('s3://') ? toUrl : path.resolve(toUrl), options);
        const started = Date.now();
        ctx.out.note(`copying from ${from.location} to ${to.location}`);
        const result = await copyBackups({
          from,
          to,
          backups: flags.all ? 'all' : [ref ?? 'latest'],
          wal: flags.all ? flags.wal !== false : false,
          lockWaitMs: waitSeconds * 1000,
          signal: ctx.signal,
          onProgress: (p) => p.message && ctx.out.note(p.message),
        });
        ctx.out.result(result);
        for (const backup of result.backups) {
          const copied = backup.objects.filter((o) => o.outcome === 'copied').length;
          ctx.out.line(
            backup.status === 'present' && copied === 0
              ? `${backup.id}: already there (${backup.objects.length} objects with the same sha256)`
              : `${backup.id}: copied ${copied} of ${backup.objects.length} objects (${formatBytes(backup.bytesCopied)}), sha256 checked in ${to.location}`,
          );
        }
        if (result.wal) ctx.out.line(`WAL: ${result.wal.copied} files copied (${formatBytes(result.wal.bytesCopied)}), ${result.wal.present} already there`);
        if (result.backups.length === 0) ctx.out.line(`no backups in ${from.location} to copy`);
        ctx.out.line(`done in ${formatDuration(Date.now() - started)}`);
        return EXIT.ok;
      }),
    );
}
