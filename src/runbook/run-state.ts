import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LifelineError, errnoCode } from '../errors.js';
import { ensureDir, writeFileAtomic } from '../fs-util.js';
import { redactValue } from '../redact.js';
import type { RunOutcome, SkipRecord } from './events.js';
import type { TargetInfo } from './template.js';

/**
 * What `--resume` needs: which steps finished (and their outputs), written atomically after
 * every step to <state>/runs/<run-id>.json.
 */
export type RunStatus = 'running' | 'rolling-back' | 'interrupted' | 'input-needed' | 'finished';

export interface FinishedStep {
  outcome: 'ok' | 'skipped';
  outputs: Record<string, unknown>;
  reason?: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

export interface RunState {
  version: 1;
  runId: string;
  runbookId: string;
  runbookFile: string;
  runbookSha256: string;
  params: Record<string, string>;
  target: TargetInfo;
  operator: string;
  host: string;
  status: RunStatus;
  outcome?: RunOutcome;
  startedAt: string;
  updatedAt: string;
  /** The step that was started and has not finished (null between steps). */
  current: string | null;
  steps: Record<string, FinishedStep>;
  skipped: SkipRecord[];
  /** Set once the run is aborting: the steps whose rollbacks are still to run. */
  rollback?: { queue: string[]; outcome: 'aborted' | 'failed'; failedStep?: string; error?: { code: string; message: string; hint?: string } };
}

export const RESUMABLE: readonly RunStatus[] = ['running', 'rolling-back', 'interrupted', 'input-needed'];

/** Sortable by time, readable, unique: 20261124T220000Z-drill-ab12. */
export function newRunId(runbookId: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  return `${stamp}-${runbookId}-${randomBytes(2).toString('hex')}`;
}

export const RUN_ID_PATTERN = /^\d{8}T\d{6}Z-[a-z][a-z0-9_-]*-[0-9a-f]{4}$/;

export function runStateFile(runsDir: string, runId: string): string {
  return path.join(runsDir, `${runId}.json`);
}

/** Saved without passwords (a param or output holding a URL with one is stored masked). */
export function saveRunState(runsDir: string, state: RunState): void {
  ensureDir(runsDir);
  writeFileAtomic(runStateFile(runsDir, state.runId), `${JSON.stringify(redactValue(state), null, 2)}\n`);
}

export function loadRunState(runsDir: string, runId: string): RunState {
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new LifelineError('USAGE', `"${runId}" is not a run id.`, { hint: 'Run ids look like 20261124T220000Z-drill-ab12; see `lifeline audit list`.' });
  }
  let text: string;
  try {
    text = fs.readFileSync(runStateFile(runsDir, runId), 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') {
      throw new LifelineError('USAGE', `No saved state for run ${runId}.`, { hint: `Runs that can resume are kept in ${runsDir}; see \`lifeline audit list\`.` });
    }
    throw error;
  }
  let state: RunState;
  try {
    state = JSON.parse(text) as RunState;
  } catch {
    state = {} as RunState;
  }
  if (state?.version !== 1 || state.runId !== runId || typeof state.runbookFile !== 'string') {
    throw new LifelineError('USAGE', `The state file of run ${runId} is not one lifeline wrote (${runStateFile(runsDir, runId)}).`, {
      hint: 'It cannot be resumed; start the runbook again (the audit trail of the run is kept).',
    });
  }
  return state;
}
