import type { Command } from 'commander';
import path from 'node:path';
import { EXIT } from '../../errors.js';
import type { Run } from '../main.js';
import { repository } from '../repo.js';
import { notify } from '../alerts.js';

const EXIT_FOR = { ok: EXIT.ok, warning: EXIT.warning, critical: EXIT.failure } as const;
const MARK = { ok: 'ok  ', warning: 'WARN', critical: 'CRIT' } as const;

export function registerStatus(program: Command, run: Run): void {
  program
    .command('status')
    .description('every promise of the policy checked: exit 0 ok, 3 warning, 1 critical')
    .option('--prometheus', 'print node_exporter textfile metrics on stdout')
    .option('--prometheus-file <path>', 'write the metrics to this file atomically')
    .option('--alert', 'send an alert when the status is warning or critical')
    .action(
      run<{ prometheus?: boolean; prometheusFile?: string; alert?: boolean }>(async (ctx, flags) => {
        const [{ collectStatus, toPrometheus, writePrometheusFile }, { listAuditRuns }, { auditDir }] = await Promise.all([
          import('../../engine/monitor/status.js'),
          import('../../audit/list.js'),
          import('../../config/paths.js'),
        ]);
        const repo = await repository(ctx);
        const drills = listAuditRuns(auditDir(ctx.paths))
          .filter((r) => r.runbook === 'drill' && !r.dryRun)
          .map((r) => ({ at: r.finishedAt ?? r.startedAt, outcome: r.outcome }));
        const report = await collectStatus({ repo, policy: ctx.config.policy, drills, signal: ctx.signal, workDir: path.join(ctx.paths.data, 'scratch') });
        if (flags.prometheusFile) writePrometheusFile(path.resolve(flags.prometheusFile), toPrometheus(report));
        if (flags.prometheus) process.stdout.write(toPrometheus(report));
        else {
          ctx.out.result({ status: report });
          ctx.out.line(`status ${report.level.toUpperCase()} for ${report.repository}`);
          for (const c of report.checks) ctx.out.line(`${MARK[c.level]} ${c.name.padEnd(13)} ${c.detail}`);
        }
        if (flags.alert && report.level !== 'ok') {
          const worst = report.checks.filter((c) => c.level === report.level).map((c) => c.detail);
          await notify(ctx, report.level === 'critical' ? 'status.critical' : 'status.warning', report.level, `status ${report.level}: ${worst.join('; ')}`, { checks: report.checks });
        }
        return EXIT_FOR[report.level];
      }),
    );
}
