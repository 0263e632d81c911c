import type { Command } from 'commander';
import { EXIT } from '../../errors.js';
import type { Run } from '../main.js';
import { formatAge, formatBytes, table } from '../format.js';

export function registerList(program: Command, run: Run): void {
  program
    .command('list')
    .description('backups in the repository, newest first, with their verification state')
    .action(
      run(async (ctx) => {
        const { openRepository } = await import('../../storage/open-repository.js');
        const repo = await openRepository(ctx.repo().url);
        const { backups, problems } = await repo.listBackups();
        const rows = backups.map((m) => ({
          id: m.id,
          kind: m.kind,
          label: m.label,
          reason: m.reason ?? null,
          operator: m.operator,
          database: m.database ?? null,
          startedAt: m.startedAt,
          finishedAt: m.finishedAt,
          snapshotAt: m.snapshotAt ?? null,
          sizeBytes: m.sizeBytes,
          compression: m.compression.algorithm,
          keyFingerprint: m.encryption?.keyFingerprint ?? null,
          verifiedLevel: m.verifiedLevel ?? null,
          verified: m.verified,
        }));
        const [{ windowReport }, { resolveZone }] = await Promise.all([import('../../engine/pitr/plan.js'), import('../../engine/pitr/time.js')]);
        const pitr = await windowReport(repo, resolveZone(undefined, ctx.config.timezone), { signal: ctx.signal });
        ctx.out.result({ repository: repo.store.location, backups: rows, problems, window: pitr?.window ?? null });
        if (!rows.length) ctx.out.line(`no backups yet in ${repo.store.location} (take one with \`lifeline backup\`)`);
        else {
          ctx.out.line(
            table([
              ['ID', 'KIND', 'LABEL', 'DATABASE', 'AGE', 'SIZE', 'VERIFIED', 'REASON'],
              ...rows.map((r) => [r.id, r.kind, r.label, r.database ?? '-', formatAge(r.finishedAt), formatBytes(r.sizeBytes), r.verifiedLevel ?? 'no', r.reason ?? '']),
            ]),
          );
        }
        for (const line of pitr?.lines ?? []) ctx.out.line(line);
        for (const problem of problems) ctx.out.note(`warning: ${problem.message}${problem.hint ? ` (${problem.hint})` : ""}`);
        return EXIT.ok;
      }),
    );
}
