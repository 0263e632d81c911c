import type { Command } from 'commander';
import { EXIT } from '../../errors.js';
import type { Run } from '../main.js';
import { table } from '../format.js';
import { writeOutFile } from '../out-file.js';

export function registerAudit(program: Command, run: Run): void {
  const audit = program.command('audit').description('the audit trails of runs: list, verify, report');

  audit
    .command('list')
    .description('runs with an audit trail, newest first')
    .action(
      run(async (ctx) => {
        const [{ listAuditRuns }, { auditDir }] = await Promise.all([import('../../audit/list.js'), import('../../config/paths.js')]);
        const runs = listAuditRuns(auditDir(ctx.paths));
        ctx.out.result({ runs });
        if (!runs.length) ctx.out.line('no runs yet (start one with `lifeline run <runbook>`)');
        else ctx.out.line(table([['ID', 'RUNBOOK', 'OPERATOR', 'STARTED', 'OUTCOME'], ...runs.map((r) => [r.id, r.runbook, r.operator, r.startedAt, `${r.outcome}${r.dryRun ? ' (dry-run)' : ''}`])]));
        return EXIT.ok;
      }),
    );

  audit
    .command('verify')
    .description('prove an audit file untouched (sha256 chain); names the first edited, removed or reordered line')
    .argument('<file|run-id>')
    .action(
      run(async (ctx, _options, [ref]) => {
        const [{ resolveAuditFile }, { verifyAuditFile }, { auditDir }] = await Promise.all([
          import('../../audit/list.js'),
          import('../../audit/verify.js'),
          import('../../config/paths.js'),
        ]);
        const result = verifyAuditFile(resolveAuditFile(ref, auditDir(ctx.paths)));
        ctx.out.result({ verification: result });
        if (!result.ok) {
          ctx.out.line(`${result.file}: BROKEN at line ${result.firstBad!.line}: ${result.firstBad!.reason}`);
          return EXIT.failure;
        }
        ctx.out.line(`${result.file}: intact, ${result.lines} lines, chain ends in ${result.lastHash}`);
        if (!result.complete) {
          ctx.out.line('warning: the file ends without run-finished: the run is still going, was killed, or lines were removed from its end');
          return EXIT.warning;
        }
        return EXIT.ok;
      }),
    );

  audit
    .command('report')
    .description('a Markdown drill report: who, when, backup, steps, checks, skips, RTO/RPO against targets')
    .argument('<file|run-id>')
    .option('--out <file>', 'write the report to a file')
    .action(
      run<{ out?: string }>(async (ctx, options, [ref]) => {
        const [{ resolveAuditFile }, { verifyAuditFile, readAuditLines }, { renderReport }, { auditDir }] = await Promise.all([
          import('../../audit/list.js'),
          import('../../audit/verify.js'),
          import('../../audit/report.js'),
          import('../../config/paths.js'),
        ]);
        const file = resolveAuditFile(ref, auditDir(ctx.paths));
        const verification = verifyAuditFile(file);
        const markdown = renderReport({ lines: readAuditLines(file), verification });
        if (options.out) {
          writeOutFile(options.out, markdown);
          ctx.out.note(`wrote ${options.out}`);
        } else if (!ctx.out.json) process.stdout.write(markdown);
        ctx.out.result({ file, verification, markdown });
        if (!verification.ok) ctx.out.note(`warning: the audit chain is broken at line ${verification.firstBad!.line}: ${verification.firstBad!.reason}`);
        return verification.ok ? EXIT.ok : EXIT.failure;
      }),
    );
}
