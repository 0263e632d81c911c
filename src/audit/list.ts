import fs from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../errors.js';
import type { RunFinishedData, RunStartedData } from '../runbook/events.js';
import { readAuditLines } from './verify.js';
import { auditFile } from './log.js';

export interface AuditRunSummary {
  id: string;
  runbook: string;
  file: string;
  startedAt: string;
  finishedAt: string | null;
  /** The run's outcome, or "incomplete" when the file has no run-finished line. */
  outcome: string;
  operator: string;
  dryRun: boolean;
}

/** Every run with an audit file, newest first. */
export function listAuditRuns(dir: string): AuditRunSummary[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((name) => name.endsWith('.jsonl'));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
  return names
    .map((name) => summarize(path.join(dir, name)))
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id));
}

function summarize(file: string): AuditRunSummary {
  const lines = readAuditLines(file);
  const id = path.basename(file, '.jsonl');
  const started = lines.find((line) => line.kind === 'run-started');
  const startedData = started?.data as RunStartedData | undefined;
  const finished = [...lines].reverse().find((line) => line.kind === 'run-finished');
  const lastLine = lines[lines.length - 1];
  return {
    id,
    runbook: started?.runbook ?? lines[0]?.runbook ?? '?',
    file,
    startedAt: startedData?.startedAt ?? lines[0]?.time ?? '',
    finishedAt: finished && lastLine === finished ? finished.time : null,
    outcome: finished && lastLine === finished ? (finished.data as RunFinishedData).outcome : 'incomplete',
    operator: started?.operator ?? '?',
    dryRun: Boolean(startedData?.dryRun),
  };
}

/** `<file|run-id>` as the audit commands take it. */
export function resolveAuditFile(fileOrRunId: string, dir: string): string {
  if (fileOrRunId.endsWith('.jsonl') || fileOrRunId.includes('/') || fs.existsSync(fileOrRunId)) return path.resolve(fileOrRunId);
  return auditFile(dir, fileOrRunId);
}
