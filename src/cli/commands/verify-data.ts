import type { Command } from 'commander';
import { EXIT } from '../../errors.js';
import type { Run } from '../main.js';
import { repository } from '../repo.js';
import { resolveBackup } from '../../engine/verify/resolve-backup.js';

export function registerVerifyData(program: Command, run: Run): void {
  program
    .command('verify-data')
    .description("the consistency level against the live database: rows and fingerprints vs a backup's manifest, keys, indexes, assertions")
    .option('--against <backup>', 'backup whose manifest the live data must equal', 'latest')
    .action(
      run<{ against: string }>(async (ctx, flags) => {
        const { checkConsistency } = await import('../../engine/verify/consistency.js');
        const repo = await repository(ctx);
        const manifest = await resolveBackup(repo, flags.against);
        const target = await ctx.connect();
        const checks = await checkConsistency({ conn: target.conn, expected: manifest.tables ?? [], assertions: ctx.config.verify.assertions, signal: ctx.signal });
        const ok = checks.every((c) => c.ok);
        ctx.out.result({ against: manifest.id, ok, checks });
        for (const c of checks) ctx.out.line(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.detail ? `: ${c.detail}` : ''}`);
        ctx.out.line(ok ? `live data matches ${manifest.id}` : `live data differs from ${manifest.id}`);
        return ok ? EXIT.ok : EXIT.failure;
      }),
    );
}
