import type {
  AttemptFailedData,
  CheckResultData,
  ErrorInfo,
  InputRequest,
  RunEvent,
  RunFinishedData,
  RunStartedData,
  StepStartedData,
  StepType,
} from '../../runbook/events.js';
import { nextProgress, type ProgressView } from './progress.js';

/**
 * What the runbook screen shows, folded from the Runner's events by a pure reducer: the view
 * never asks the Runner anything, it only reads this.
 */
export type StepStatus = 'pending' | 'running' | 'passed' | 'failed' | 'skipped' | 'described' | 'interrupted' | 'aborted';

export interface StepView {
  id: string;
  title: string;
  type: StepType;
  status: StepStatus;
  /** Event time (ms) the step started, while it runs. */
  startedAt?: number;
  durationMs?: number;
  attempts?: number;
  reason?: string;
  error?: ErrorInfo;
  rollbackOf?: string;
  /** Finished in an earlier attempt of this run (before --resume). */
  earlier?: boolean;
}

/** The step-started event's facts, plus what the screen gathers while the step runs. */
export interface CurrentStep extends Omit<StepStartedData, 'resumed'> {
  id: string;
  startedAt: number;
  checks: CheckResultData[];
  output: Array<{ stream: 'stdout' | 'stderr'; line: string }>;
  progress?: ProgressView;
  failures: AttemptFailedData[];
}

export interface RunViewState {
  runId?: string;
  started?: RunStartedData;
  /** Run start as epoch ms (a resumed run keeps its first start). */
  startedAt?: number;
  steps: StepView[];
  rollback: StepView[];
  current?: CurrentStep;
  /** The question the Runner is waiting on (cleared once answered). */
  request?: InputRequest;
  finished?: RunFinishedData;
  finishedAt?: number;
}

export const OUTPUT_TAIL = 200;

export const initialRunState: RunViewState = { steps: [], rollback: [] };

/** A moving byte count is redrawn at most this often: every frame costs the CPU the backup is using. */
export const PROGRESS_REDRAW_MS = 500;

/**
 * A report that only moves the byte count of the bar on screen, less than PROGRESS_REDRAW_MS after
 * the figure shown, may wait (the controller shows the latest one when the time is up).
 */
export function progressMayWait(state: RunViewState, event: RunEvent): boolean {
  if (event.kind !== 'progress') return false;
  const shown = state.current?.progress;
  const next = event.data;
  if (!shown || next.phase !== shown.phase || next.message !== undefined || next.bytes === undefined) return false;
  if (next.totalBytes !== undefined && next.bytes >= next.totalBytes) return false;
  const last = shown.samples.at(-1);
  return last !== undefined && Date.parse(event.time) - last.at < PROGRESS_REDRAW_MS;
}

const finishedStatus: Record<string, StepStatus> = {
  ok: 'passed',
  skipped: 'skipped',
  failed: 'failed',
  described: 'described',
  interrupted: 'interrupted',
  aborted: 'aborted',
};

export function reduceRun(state: RunViewState, event: RunEvent): RunViewState {
  const at = Date.parse(event.time);
  switch (event.kind) {
    case 'run-started': {
      const { steps, resumed } = event.data;
      const resumeIndex = resumed ? (resumed.fromStep ? steps.findIndex((step) => step.id === resumed.fromStep) : steps.length) : -1;
      return {
        ...initialRunState,
        runId: event.runId,
        started: event.data,
        startedAt: Date.parse(event.data.startedAt),
        steps: steps.map((step, index) => ({
          id: step.id,
          title: step.title,
          type: step.type,
          status: index < resumeIndex ? 'passed' : 'pending',
          earlier: index < resumeIndex || undefined,
        })),
      };
    }
    case 'step-started': {
      const { title, type, index, total, explain, describe, rollbackOf } = event.data;
      const id = event.step!;
      const current: CurrentStep = { id, title, type, index, total, explain, describe, rollbackOf, startedAt: at, checks: [], output: [], failures: [] };
      const running: StepView = { id, title, type, status: 'running', startedAt: at, rollbackOf };
      if (rollbackOf) return { ...state, current, request: undefined, rollback: [...state.rollback, running] };
      return { ...state, current, request: undefined, steps: replaceStep(state.steps, id, (step) => ({ ...step, ...running, earlier: undefined })) };
    }
    case 'check-result': {
      if (!state.current) return state;
      const checks = state.current.checks.filter((check) => !(check.phase === event.data.phase && check.check === event.data.check && check.title === event.data.title));
      return { ...state, current: { ...state.current, checks: [...checks, event.data] } };
    }
    case 'progress':
      if (!state.current) return state;
      return { ...state, current: { ...state.current, progress: nextProgress(state.current.progress, event.data, at) } };
    case 'output-line': {
      if (!state.current) return state;
      const output = [...state.current.output, event.data];
      return { ...state, current: { ...state.current, output: output.length > OUTPUT_TAIL ? output.slice(-OUTPUT_TAIL) : output } };
    }
    case 'awaiting-input':
      return { ...state, request: event.data.request };
    case 'answered':
      return { ...state, request: undefined };
    case 'attempt-failed':
      if (!state.current) return state;
      return { ...state, current: { ...state.current, failures: [...state.current.failures, event.data], progress: undefined } };
    case 'step-finished': {
      const { outcome, durationMs, attempts, reason, error, rollbackOf } = event.data;
      const update = (step: StepView): StepView => ({ ...step, status: finishedStatus[outcome] ?? 'failed', durationMs, attempts, reason, error, startedAt: undefined });
      const id = event.step!;
      if (rollbackOf) {
        const index = findLastIndex(state.rollback, (step) => step.id === id && step.rollbackOf === rollbackOf);
        const rollback = index < 0 ? state.rollback : state.rollback.map((step, i) => (i === index ? update(step) : step));
        return { ...state, rollback };
      }
      return { ...state, steps: replaceStep(state.steps, id, update) };
    }
    case 'run-finished':
      return { ...state, finished: event.data, finishedAt: at, request: undefined };
  }
}

function replaceStep(steps: StepView[], id: string, update: (step: StepView) => StepView): StepView[] {
  return steps.map((step) => (step.id === id ? update(step) : step));
}

function findLastIndex<T>(items: T[], predicate: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i])) return i;
  return -1;
}
