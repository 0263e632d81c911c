import fs from 'node:fs';
import { EXIT, isLifelineError } from '../errors.js';
import type { InitialRoute } from '../ui/App.js';
import type { Health, StatusReport, TuiServices } from '../ui/services.js';
import type { RunController } from '../ui/state/runController.js';
import type { Context } from './context.js';
import { dirs, executeRun, runServices, type RunFlags } from './commands/run.js';
import { quickRunbookList, runbookFiles } from '../runbook/files.js';

/**
 * The TUI's window on the world: every screen's data comes through these functions, built here
 * in the CLI layer from the same modules the plain commands use. The UI runs no query and starts
 * no process of its own.
 */
export function createTuiServices(ctx: Context, flags: RunFlags = {}, notes: { current?: RunController } = {}): TuiServices {
  const services = runServices(ctx);
  const auditDirectory = async () => (await import('../config/paths.js')).auditDir(ctx.paths);
  const listBackups = async () => (await services.repo!()).listBackups();

  const health = async (): Promise<Health> => {
    const [{ backups }, runs] = await Promise.all([listBackups(), import('../audit/list.js').then(async ({ listAuditRuns }) => listAuditRuns(await auditDirectory()))]);
    const newest = backups[0];
    const records = backups.flatMap((backup) => backup.verifications.map((record) => ({ backup, record })));
    records.sort((a, b) => b.record.finishedAt.localeCompare(a.record.finishedAt));
    const lastVerification = records[0];
    const drill = runs.find((run) => /drill/.test(run.runbook) && !run.dryRun);
    const warnings: string[] = [];
    const now = Date.now();
    if (!newest) warnings.push('No backup yet: take one (pre-deploy backup runbook, or `lifeline backup`).');
    else {
      if (!backups.some((backup) => backup.verified)) warnings.push(`No backup has passed verification at level ${ctx.config.verify.minimumLevel}: run the verify backup runbook.`);
      if (now - Date.parse(newest.finishedAt) > 26 * 3_600_000) warnings.push('The newest backup is more than a day old.');
    }
    if (!drill) warnings.push('No drill yet: run "Recovery drill in the sandbox" to practise.');
    else if (now - Date.parse(drill.startedAt) > 35 * 86_400_000) warnings.push('The last drill is more than a month old.');
    return {
      lastBackup: newest ? { id: newest.id, finishedAt: newest.finishedAt, sizeBytes: newest.sizeBytes, verifiedLevel: newest.verifiedLevel } : undefined,
      lastVerification: lastVerification
        ? { backupId: lastVerification.backup.id, finishedAt: lastVerification.record.finishedAt, ok: lastVerification.record.ok, level: lastVerification.record.passedLevel ?? lastVerification.record.requestedLevel }
        : undefined,
      lastDrill: drill ? { id: drill.id, startedAt: drill.startedAt, outcome: drill.outcome } : undefined,
      warnings,
    };
  };

  return {
    async overview() {
      const target = ctx.target();
      const [{ operatorName }, { describeConn, redactUrl }] = await Promise.all([import('../engine/operator.js'), import('../postgres/conninfo.js')]);
      return {
        target: target.kind === 'sandbox' ? 'the sandbox' : `${describeConn(target.conn)} [${target.source}]`,
        sandbox: target.kind === 'sandbox',
        repository: redactUrl(ctx.repo().url),
        operator: operatorName(flags.operator, ctx.env),
      };
    },
    health,
    quickRunbooks: () => quickRunbookList(dirs(ctx)),
    async loadRunbooks() {
      const [{ createBuiltinRegistry }, loader] = await Promise.all([import('../runbook/builtins.js'), import('../runbook/loader.js')]);
      const registry = createBuiltinRegistry();
      return runbookFiles(dirs(ctx)).map((entry) => {
        const result = loader.checkRunbookText({ text: fs.readFileSync(entry.file, 'utf8'), file: entry.file, registry });
        return result.ok
          ? { id: entry.name, title: result.loaded.runbook.title, kind: result.loaded.runbook.kind, description: result.loaded.runbook.description, source: entry.source }
          : { id: entry.name, title: entry.name, source: entry.source, problem: `${result.problems[0].line}:${result.problems[0].column} ${result.problems[0].message}` };
      });
    },
    listBackups,
    /** The same checks as `lifeline status`, so the screen and the exit code never disagree. */
    async status(): Promise<StatusReport> {
      const [{ collectStatus }, { listAuditRuns }, path] = await Promise.all([import('../engine/monitor/status.js'), import('../audit/list.js'), import('node:path')]);
      const drills = listAuditRuns(await auditDirectory())
        .filter((run) => run.runbook === 'drill' && !run.dryRun)
        .map((run) => ({ at: run.finishedAt ?? run.startedAt, outcome: run.outcome }));
      const report = await collectStatus({ repo: await services.repo!(), policy: ctx.config.policy, drills, workDir: path.join(ctx.paths.data, 'scratch') });
      return { level: report.level, lines: report.checks.map((check) => ({ level: check.level, text: `${check.name}: ${check.detail}` })) };
    },
    async auditRuns() {
      const { listAuditRuns } = await import('../audit/list.js');
      return listAuditRuns(await auditDirectory());
    },
    async auditReport(runId) {
      const [{ resolveAuditFile }, { verifyAuditFile, readAuditLines }, { renderReport }] = await Promise.all([
        import('../audit/list.js'),
        import('../audit/verify.js'),
        import('../audit/report.js'),
      ]);
      const file = resolveAuditFile(runId, await auditDirectory());
      const verification = verifyAuditFile(file);
      return {
        markdown: renderReport({ lines: readAuditLines(file), verification }),
        intact: verification.ok,
        problem: verification.firstBad ? `line ${verification.firstBad.line}: ${verification.firstBad.reason}` : undefined,
      };
    },
    contacts: () => ctx.config.contacts,
    timezone: ctx.config.timezone,
    async startRun(options, controller: RunController) {
      notes.current = controller;
      const param = Object.entries(options.params ?? {}).map(([name, value]) => `${name}=${value}`);
      try {
        const { result } = await executeRun(ctx, { ...flags, param, resume: options.resume }, options.runbook, {
          askParam: controller.askParam,
          person: controller.answer,
          sinks: [controller.sink],
          onSession: (session) => controller.attach(session.runner),
        });
        controller.finish({ exitCode: result.exitCode, runId: result.runId, auditFile: result.auditFile, uploadError: result.uploadError });
      } catch (error) {
        if (isLifelineError(error)) controller.fail({ message: error.message, hint: error.hint, exitCode: error.exitCode });
        else controller.fail({ message: `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, hint: 'this is a bug in lifeline; please report it.', exitCode: EXIT.failure });
      }
    },
  };
}

/** Shows the TUI (home or a run) and returns the exit code to leave with. */
export async function runTui(ctx: Context, initial: InitialRoute, flags: RunFlags = {}): Promise<number> {
  const notes: { current?: RunController } = {};
  // Lines for stderr would tear Ink's frame: they go into the run's screen instead.
  const note = ctx.out.note;
  ctx.out.note = (text) => (notes.current ? notes.current.note(text) : undefined);
  try {
    const { renderTui } = await import('../ui/render.js');
    return await renderTui({ services: createTuiServices(ctx, flags, notes), initial });
  } finally {
    ctx.out.note = note;
  }
}
