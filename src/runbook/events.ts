import type { Progress } from '../engine/progress.js';
import type { OutputStream } from './registry.js';
import type { ParamType, RunbookKind } from './schema.js';
import type { TargetInfo } from './template.js';

/**
 * What a run says while it happens. The plain renderer, the TUI and the audit log are three
 * subscribers of the same events; none of them drives the run except through answers.
 */

export type StepType = 'action' | 'manual' | 'checks';

export type RunOutcome =
  /** Every step ran (or was described, in dry-run) and passed. */
  | 'succeeded'
  /** Finished, but a step or a check was skipped (exit 3). */
  | 'skipped-steps'
  /** A step failed and nobody could decide, or the runbook says abort (exit 1). */
  | 'failed'
  /** The operator chose to abort (exit 1); rollbacks ran. */
  | 'aborted'
  /** Ctrl-C, SIGTERM or a crash: resumable with --resume (exit 130). */
  | 'interrupted'
  /** Input was needed and nobody could give it (exit 4); resumable. */
  | 'input-needed';

export type AnswerType = 'yes' | 'typed' | 'value' | 'skip' | 'retry' | 'abort';

export type InputRequest =
  | { kind: 'confirm'; step: string; prompt: string; sandbox: boolean; accepts: AnswerType[] }
  | { kind: 'typed'; step: string; prompt: string; expected: string; sandbox: boolean; mismatch?: string; accepts: AnswerType[] }
  | { kind: 'manual'; step: string; instruction: string; accepts: AnswerType[] }
  | { kind: 'decision'; step: string; phase: 'pre' | 'action' | 'post'; failure: string; attempt: number; accepts: AnswerType[] };

export type Answer =
  /** Confirm a yes/no prompt, or mark a manual step done. */
  | { type: 'yes' }
  | { type: 'typed'; text: string }
  | { type: 'skip'; reason: string }
  | { type: 'retry' }
  | { type: 'abort'; reason?: string };

/** An answer and who gave it: --yes and the no-TTY path answer "unattended". */
export type GivenAnswer = Answer & { unattended?: boolean };

export interface ContactInfo {
  name: string;
  role?: string;
  phone?: string;
  email?: string;
}

export interface RunStartedData {
  runbook: {
    id: string;
    title: string;
    kind: RunbookKind;
    file: string;
    sha256: string;
    targets: { rto?: string; rpo?: string };
  };
  params: Record<string, string>;
  paramTypes: Record<string, ParamType>;
  target: TargetInfo;
  contacts: ContactInfo[];
  dryRun: boolean;
  /** When the run first started (a resumed run keeps its original start). */
  startedAt: string;
  steps: Array<{ id: string; title: string; type: StepType }>;
  resumed?: { fromStep: string | null; previousStatus: string };
}

export interface StepStartedData {
  title: string;
  type: StepType;
  index: number;
  total: number;
  explain?: string;
  /** For actions: what it will do, e.g. "wait 5 s"; for manual steps: the instruction. */
  describe?: string;
  rollbackOf?: string;
  resumed?: boolean;
}

export interface CheckResultData {
  phase: 'pre' | 'post';
  check: string;
  title: string;
  ok: boolean;
  detail: string;
  durationMs: number;
  attempt: number;
}

export interface ErrorInfo {
  code: string;
  message: string;
  hint?: string;
}

export interface AttemptFailedData {
  phase: 'action';
  attempt: number;
  error: ErrorInfo;
  /** The runbook's on_failure retries left after this one. */
  retriesLeft: number;
}

export type StepOutcome = 'ok' | 'skipped' | 'failed' | 'described' | 'interrupted' | 'aborted';

export interface StepFinishedData {
  outcome: StepOutcome;
  durationMs: number;
  attempts: number;
  outputs?: Record<string, unknown>;
  reason?: string;
  /** Checks overridden with "skip" by the operator, with their reasons. */
  deviations?: Array<{ check: string; phase: 'pre' | 'post'; reason: string }>;
  error?: ErrorInfo;
  rollbackOf?: string;
}

export interface Measurement {
  ms: number;
  targetMs?: number;
  met?: boolean;
  from: string;
  to: string;
}

export interface Measurements {
  /** Start of the run to the end of the `measure.recovered` step. */
  rto?: Measurement;
  /** Incident time (recovery) or run start (drill) minus the newest data restored. */
  rpo?: Measurement;
  /** Why a measurement is missing, in words for the report. */
  notes: string[];
}

export interface SkipRecord {
  step: string;
  /** "step" when the whole step was skipped, else "check <name>" for an overridden check. */
  what: string;
  reason: string;
  unattended: boolean;
}

export interface RunFinishedData {
  outcome: RunOutcome;
  exitCode: number;
  durationMs: number;
  skipped: SkipRecord[];
  failedStep?: string;
  error?: ErrorInfo;
  /** Dry-run: how many checks failed. */
  failedChecks: number;
  measurements: Measurements;
}

export interface RunEventData {
  'run-started': RunStartedData;
  'step-started': StepStartedData;
  'check-result': CheckResultData;
  progress: Progress;
  'output-line': { stream: OutputStream; line: string };
  'awaiting-input': { request: InputRequest };
  answered: { answer: Answer; unattended: boolean };
  'attempt-failed': AttemptFailedData;
  'step-finished': StepFinishedData;
  'run-finished': RunFinishedData;
}

export type RunEventKind = keyof RunEventData;

export type RunEvent = {
  [K in RunEventKind]: { kind: K; runId: string; time: string; step: string | null; data: RunEventData[K] };
}[RunEventKind];

export type EventOf<K extends RunEventKind> = Extract<RunEvent, { kind: K }>;

/** A subscriber; the Runner waits for it (the audit log fsyncs) before it goes on. */
export type RunEventSink = (event: RunEvent) => void | Promise<void>;
