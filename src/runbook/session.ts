import { AuditLog } from '../audit/log.js';
import type { RunEventSink } from './events.js';
import { Runner, type RunResult, type RunnerOptions } from './runner.js';

/**
 * A run as every front end starts it: the Runner with its audit log subscribed first (so each
 * event is on disk before any view shows it and before the run goes on), then the views, and
 * the audit file copied to the repository at the end.
 */
export interface RunSessionOptions extends RunnerOptions {
  /** <state>/audit */
  auditDir: string;
  /** Views: the plain renderer, the TUI's store, a test's recorder. */
  sinks?: RunEventSink[];
  /** Copies the finished audit file to the repository (audit/<run-id>.jsonl). */
  uploadAudit?: (runId: string, file: string) => Promise<void>;
}

export interface RunSessionResult extends RunResult {
  auditFile: string;
  /** Why the copy to the repository failed; the local file is intact either way. */
  uploadError?: string;
}

export interface RunSession {
  runner: Runner;
  auditFile: string;
  run(): Promise<RunSessionResult>;
}

export async function openRunSession(options: RunSessionOptions): Promise<RunSession> {
  const runner = new Runner(options);
  const audit = await AuditLog.open({
    dir: options.auditDir,
    runId: runner.runId,
    runbook: options.loaded.runbook.id,
    operator: options.operator,
    host: options.host,
  });
  runner.subscribe(audit.append);
  for (const sink of options.sinks ?? []) runner.subscribe(sink);
  return {
    runner,
    auditFile: audit.file,
    async run() {
      let result: RunResult;
      try {
        result = await runner.run();
      } finally {
        await audit.close();
      }
      let uploadError: string | undefined;
      if (options.uploadAudit && !options.dryRun) {
        try {
          await options.uploadAudit(runner.runId, audit.file);
        } catch (error) {
          uploadError = error instanceof Error ? error.message : String(error);
        }
      }
      return { ...result, auditFile: audit.file, uploadError };
    },
  };
}
