import { LifelineError } from '../../errors.js';
import type { GivenAnswer, InputRequest, RunEvent, RunEventSink } from '../../runbook/events.js';
import type { ParamQuestion } from '../../runbook/params.js';
import type { Answerer } from '../../runbook/runner.js';
import { initialRunState, PROGRESS_REDRAW_MS, progressMayWait, reduceRun, type RunViewState } from './runState.js';

/**
 * The bridge between one run and the screen. The CLI layer hands `sink`, `answer` and `askParam`
 * to the Runner session; the screen reads `getSnapshot()` and calls `respond`, `respondParam`
 * and `abort`. Nothing here starts a process or runs a query.
 */
export type RunPhase = 'preparing' | 'running' | 'finished' | 'error';

export type Pending =
  | { kind: 'answer'; request: InputRequest }
  | { kind: 'param'; question: ParamQuestion };

export interface RunOutcomeInfo {
  exitCode: number;
  runId?: string;
  auditFile?: string;
  uploadError?: string;
}

export interface RunSnapshot {
  phase: RunPhase;
  run: RunViewState;
  pending?: Pending;
  /** Set once the session returned. */
  result?: RunOutcomeInfo;
  /** The run could not start or crashed (message + hint), with the exit code to leave with. */
  error?: { message: string; hint?: string; exitCode: number };
  /** Notes for the operator from the layers below (e.g. "creating the sandbox"), newest last. */
  notes: string[];
  /** The operator asked to abort and the Runner is winding down (rollbacks may still run). */
  aborting?: string;
}

export interface RunController {
  // ---- given to the Runner session by the CLI layer
  sink: RunEventSink;
  answer: Answerer;
  askParam(question: ParamQuestion): Promise<string>;
  /** The Runner, once the session exists: abort() is forwarded to it. */
  attach(runner: { abort(reason?: string): void }): void;
  finish(result: RunOutcomeInfo): void;
  fail(error: { message: string; hint?: string; exitCode: number }): void;
  /** A line for the operator that is not a run event (what stderr would have shown). */
  note(text: string): void;
  // ---- used by the screen
  getSnapshot(): RunSnapshot;
  subscribe(listener: () => void): () => void;
  respond(answer: GivenAnswer): void;
  respondParam(value: string): void;
  abort(reason: string): void;
}

export function createRunController(): RunController {
  let snapshot: RunSnapshot = { phase: 'preparing', run: initialRunState, notes: [] };
  const listeners = new Set<() => void>();
  let resolveAnswer: ((answer: GivenAnswer) => void) | undefined;
  let resolveParam: ((value: string) => void) | undefined;
  let rejectParam: ((error: Error) => void) | undefined;
  let runner: { abort(reason?: string): void } | undefined;
  let pendingAbort: string | undefined;

  const set = (next: Partial<RunSnapshot>) => {
    snapshot = { ...snapshot, ...next };
    for (const listener of [...listeners]) listener();
  };
  const apply = (event: RunEvent) => set({ run: reduceRun(snapshot.run, event), phase: snapshot.phase === 'preparing' ? 'running' : snapshot.phase });
  // Byte counts arrive up to five times a second; each frame costs CPU the backup or restore is
  // using. The latest held report is shown when PROGRESS_REDRAW_MS is up, or before the next event.
  let held: RunEvent | undefined;
  let heldTimer: ReturnType<typeof setTimeout> | undefined;
  const showHeld = () => {
    clearTimeout(heldTimer);
    heldTimer = undefined;
    const event = held;
    held = undefined;
    if (event) apply(event);
  };

  return {
    sink(event: RunEvent) {
      if (progressMayWait(snapshot.run, event)) {
        held = event;
        heldTimer ??= setTimeout(showHeld, PROGRESS_REDRAW_MS);
        return;
      }
      showHeld(); // what was held comes first: events keep their order
      apply(event);
    },
    answer(request, { signal }) {
      return new Promise<GivenAnswer>((resolve, reject) => {
        const clear = () => {
          resolveAnswer = undefined;
          if (snapshot.pending?.kind === 'answer') set({ pending: undefined });
        };
        resolveAnswer = (answer) => {
          signal.removeEventListener('abort', onAbort);
          clear();
          resolve(answer);
        };
        const onAbort = () => {
          clear();
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        set({ pending: { kind: 'answer', request } });
      });
    },
    askParam(question) {
      return new Promise<string>((resolve, reject) => {
        const clear = () => {
          resolveParam = undefined;
          rejectParam = undefined;
          set({ pending: undefined });
        };
        resolveParam = (value) => {
          clear();
          resolve(value);
        };
        rejectParam = (error) => {
          clear();
          reject(error);
        };
        set({ pending: { kind: 'param', question } });
      });
    },
    attach(next) {
      runner = next;
      if (pendingAbort) next.abort(pendingAbort);
    },
    finish(result) {
      set({ phase: 'finished', result, pending: undefined });
    },
    fail(error) {
      set({ phase: 'error', error, pending: undefined });
    },
    note(text) {
      set({ notes: [...snapshot.notes, text].slice(-5) });
    },
    getSnapshot: () => snapshot,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    respond(answer) {
      resolveAnswer?.(answer);
    },
    respondParam(value) {
      resolveParam?.(value);
    },
    abort(reason) {
      if (snapshot.aborting) return;
      pendingAbort = reason;
      set({ aborting: reason });
      // Before the run exists (a param question is open) nothing has happened: just stop.
      rejectParam?.(new LifelineError('ABORTED', 'Cancelled before the run started.', { hint: 'Nothing was changed.' }));
      runner?.abort(reason);
    },
  };
}
