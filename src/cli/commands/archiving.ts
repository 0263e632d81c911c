import type { Command } from 'commander';
import { EXIT } from '../../errors.js';
import type { Run } from '../main.js';
import type { Context } from '../context.js';
import { secondsFlag } from '../flags.js';

interface SetupFlags {
  apply?: boolean;
  archiveTimeout?: string;
  compress?: string;
}

interface CheckFlags {
  timeout?: string;
}

export function registerArchiving(program: Command, run: Run): void {
  const archiving = program.command('archiving').description('WAL archiving for point-in-time recovery: show/apply the settings, prove it works');
  archiving
    .command('setup')
    .description('show the archiving settings the target server needs (wal_level, archive_mode, archive_command, archive_timeout); --apply sets them')
    .option('--apply', 'apply them with ALTER SYSTEM and reload (archive_mode / wal_level still need a restart)')
    .option('--archive-timeout <seconds>', 'force a WAL switch at least this often, bounding data loss on a quiet server', '60')
    .option('--compress <codec[:level]>', 'archived WAL: zstd, lz4, gzip or none, with an optional level (default zstd:3 when installed, else gzip)')
    .action(
      run<SetupFlags>(async (ctx, flags) => {
        const archiveTimeout = secondsFlag('--archive-timeout', flags.archiveTimeout, { min: 1 });
        const { parseCompression, formatCompression } = await import('../../engine/compress/spec.js');
        const compression = flags.compress === undefined ? undefined : formatCompression(parseCompression(flags.compress));
        const { archivingState, applyArchiving, shareRepositoryWithServer } = await import('../../engine/wal/archiving.js');
        const { restoreCommand } = await import('../../engine/wal/command.js');
        const { repo, target } = await where(ctx);
        const keys = { keyFile: ctx.config.encryptionKeyFile, keyringFile: ctx.config.encryptionKeyringFile };
        const plan = { repo: repo.url, archiveTimeout, compression, ...keys };
        if (ctx.env.LIFELINE_ENCRYPTION_KEY && !keys.keyFile) {
          ctx.out.note('warning: the encryption key comes from LIFELINE_ENCRYPTION_KEY, which archive_command (run by the server) does not see: put it in a file readable by the server\'s OS user and `lifeline config set encryptionKeyFile <file>`');
        } else if (keys.keyFile) {
          ctx.out.note(`archive_command reads the key from ${keys.keyFile}: the server's OS user must be able to read it`);
        }
        const state = await archivingState(target.conn, plan, { signal: ctx.signal });
        ctx.out.line(`archiving for ${target.label} into ${repo.url}:`);
        for (const s of state.settings) {
          ctx.out.line(`  ${s.ok ? 'ok     ' : 'CHANGE '} ${s.name} = ${s.wanted}${s.ok ? '' : `   (now: ${s.current || '(empty)'})`}${!s.ok && s.restart ? '   [needs a restart]' : ''}`);
        }
        ctx.out.line(`  restore_command for recoveries (lifeline pitr writes it itself): ${restoreCommand({ repo: repo.url, ...keys })}`);
        let applied: { changed: string[]; restartNeeded: boolean; shared: string[] } | undefined;
        if (flags.apply) {
          const { openStore } = await import('../../storage/open-store.js');
          const shared = repo.url.startsWith('s3://') ? [] : await shareRepositoryWithServer(await openStore(repo.url), repo.url);
          for (const dir of shared) ctx.out.note(`gave ${dir} to the server's OS user (archive_command runs as that user)`);
          const result = await applyArchiving(target.conn, plan, { signal: ctx.signal });
          applied = { changed: result.changed.map((s) => s.name), restartNeeded: result.restartNeeded, shared };
          if (!result.changed.length) ctx.out.line('nothing to change');
          else ctx.out.line(`applied with ALTER SYSTEM: ${applied.changed.join(', ')}`);
          if (result.restartNeeded) ctx.out.line('RESTART PostgreSQL now: wal_level / archive_mode only change at a restart. Then run `lifeline archiving check`.');
          else if (result.changed.length) ctx.out.line('reloaded; run `lifeline archiving check` to prove it end to end');
        } else if (!state.ok) {
          ctx.out.line('run again with --apply to set them (or put them in postgresql.conf), restart if marked, then `lifeline archiving check`');
        }
        ctx.out.result({ repository: repo.url, settings: state.settings, archiver: state.stats, ok: state.ok, applied: applied ?? null });
        return EXIT.ok;
      }),
    );
  archiving
    .command('check')
    .description('prove archiving end to end: switch WAL on the target server and wait for the segment to arrive in the repository')
    .option('--timeout <seconds>', 'how long to wait for the segment', '60')
    .action(
      run<CheckFlags>(async (ctx, flags) => {
        const timeoutMs = secondsFlag('--timeout', flags.timeout, { min: 1 }) * 1000;
        const [{ checkArchiving }, { openStore }] = await Promise.all([import('../../engine/wal/archiving.js'), import('../../storage/open-store.js')]);
        const { repo, target } = await where(ctx);
        const result = await checkArchiving({
          conn: target.conn,
          store: await openStore(repo.url),
          timeoutMs,
          signal: ctx.signal,
          onProgress: (p) => p.message && ctx.out.note(p.message),
        });
        ctx.out.result({ ok: true, ...result });
        ctx.out.line(`archiving works: ${result.segment} arrived in ${repo.url} after ${(result.waitedMs / 1000).toFixed(1)} s`);
        return EXIT.ok;
      }),
    );
}

async function where(ctx: Context) {
  const target = await ctx.connect();
  return { repo: ctx.repo(), target };
}
