import { EXIT, LifelineError, isLifelineError } from '../errors.js';
import { redactValue } from '../redact.js';
import type {
  Answer,
  AnswerType,
  ContactInfo,
  ErrorInfo,
  GivenAnswer,
  InputRequest,
  Measurements,
  RunEvent,
  RunEventData,
  RunEventKind,
  RunEventSink,
  RunOutcome,
  SkipRecord,
  StepFinishedData,
  StepOutcome,
} from './events.js';
import type { LoadedRunbook } from './loader.js';
import { measureRun } from './measure.js';
import type { Registry, RunInfo, RunServices } from './registry.js';
import { RESUMABLE, newRunId, saveRunState, type RunState } from './run-state.js';
import { normalizeCheckRef, stepKind, type CheckRef, type OnFailure, type RollbackStep, type Step } from './schema.js';
import { renderText, renderValue, type TargetInfo, type TemplateScope } from './template.js';

/**
 * The Runner walks a runbook's steps as a state machine with no UI. It reports everything as
 * events (awaiting each subscriber, so the audit line is on disk before the run goes on), asks
 * for decisions through an injected Answerer, saves its state after every step so a killed run
 * resumes from the step that did not finish, and in dry-run runs checks but only describes actions.
 */

/** Gets an answer from whoever can give one: a person (TUI, prompt), --yes, or a test script. */
export type Answerer = (request: InputRequest, options: { signal: AbortSignal }) => Promise<GivenAnswer>;

export type RunStart =
  | { kind: 'new'; params: Record<string, string>; target: TargetInfo; runId?: string }
  | { kind: 'resume'; state: RunState };

export interface RunnerOptions {
  loaded: LoadedRunbook;
  registry: Registry;
  start: RunStart;
  operator: string;
  host: string;
  services: RunServices;
  answer: Answerer;
  /** <state>/runs: where the state file for --resume is kept (not written in dry-run). */
  runsDir: string;
  dryRun?: boolean;
  /** Ctrl-C / SIGTERM: the current action is cancelled and the run stays resumable. */
  signal?: AbortSignal;
  /** Contacts from the config, shown with the runbook's own when a step fails. */
  contacts?: ContactInfo[];
  clock?: () => number;
}

export interface RunResult {
  runId: string;
  outcome: RunOutcome;
  exitCode: number;
  skipped: SkipRecord[];
  measurements: Measurements;
  failedStep?: string;
  error?: ErrorInfo;
}

const OUTCOME_EXIT: Record<RunOutcome, number> = {
  succeeded: EXIT.ok,
  'skipped-steps': EXIT.warning,
  failed: EXIT.failure,
  aborted: EXIT.failure,
  interrupted: EXIT.interrupted,
  'input-needed': EXIT.inputNeeded,
};

/** Thrown inside the run to leave the steps and roll back. */
class AbortRun extends Error {
  constructor(
    readonly outcome: 'aborted' | 'failed',
    readonly step: string,
    readonly rollbackSelf: boolean,
    readonly error?: ErrorInfo,
  ) {
    super(error?.message ?? `aborted at step ${step}`);
  }
}

class Interrupted extends Error {}

interface StepResult {
  outcome: StepOutcome;
  outputs: Record<string, unknown>;
  reason?: string;
}

interface StepContext {
  index: number;
  total: number;
  rollbackOf?: string;
  resumed?: boolean;
}

export function errorInfo(error: unknown): ErrorInfo {
  if (isLifelineError(error)) return { code: error.code, message: error.message, hint: error.hint };
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

export class Runner {
  readonly runId: string;
  private readonly options: RunnerOptions;
  private readonly sinks: RunEventSink[] = [];
  private readonly clock: () => number;
  private readonly signal: AbortSignal;
  private readonly dryRun: boolean;
  private readonly state: RunState;
  private readonly resumedFrom?: RunState['status'];
  private chain: Promise<void> = Promise.resolve();
  private sinkError: unknown;
  private actionController?: AbortController;
  private operatorAbort?: { reason: string };
  private readonly operatorAbortController = new AbortController();
  private failedChecks = 0;

  constructor(options: RunnerOptions) {
    this.options = options;
    this.clock = options.clock ?? Date.now;
    this.signal = options.signal ?? new AbortController().signal;
    this.dryRun = Boolean(options.dryRun);
    const { loaded, start } = options;
    if (start.kind === 'resume') {
      const previous = start.state;
      if (!RESUMABLE.includes(previous.status)) {
        throw new LifelineError('USAGE', `Run ${previous.runId} ended (${previous.outcome ?? previous.status}); there is nothing to resume.`, {
          hint: `Start a new run: lifeline run ${previous.runbookId}`,
        });
      }
      if (previous.runbookSha256 !== loaded.sha256) {
        throw new LifelineError('USAGE', `The runbook ${loaded.file} changed since run ${previous.runId} started.`, {
          hint: 'Resuming against different steps is not safe: restore the runbook as it was, or start a new run.',
        });
      }
      if (this.dryRun) throw new LifelineError('USAGE', '--dry-run and --resume cannot be combined.');
      this.resumedFrom = previous.status;
      this.state = { ...previous, steps: { ...previous.steps }, skipped: [...previous.skipped], status: previous.status === 'rolling-back' ? 'rolling-back' : 'running' };
    } else {
      const now = new Date(this.clock());
      this.state = {
        version: 1,
        runId: start.runId ?? newRunId(loaded.runbook.id, now),
        runbookId: loaded.runbook.id,
        runbookFile: loaded.file,
        runbookSha256: loaded.sha256,
        params: start.params,
        target: start.target,
        operator: options.operator,
        host: options.host,
        status: 'running',
        startedAt: now.toISOString(),
        updatedAt: now.toISOString(),
        current: null,
        steps: {},
        skipped: [],
      };
    }
    this.runId = this.state.runId;
  }

  /** Adds a subscriber; the Runner awaits every subscriber before it goes on. */
  subscribe(sink: RunEventSink): () => void {
    this.sinks.push(sink);
    return () => {
      const index = this.sinks.indexOf(sink);
      if (index >= 0) this.sinks.splice(index, 1);
    };
  }

  /**
   * The operator aborts (e.g. Escape in the TUI): the running action is cancelled through its
   * AbortSignal, completed steps are rolled back, and the run ends "aborted".
   */
  abort(reason = 'aborted by the operator'): void {
    if (this.operatorAbort) return;
    this.operatorAbort = { reason };
    const error = new LifelineError('ABORTED', `Run aborted: ${reason}.`);
    this.actionController?.abort(error);
    this.operatorAbortController.abort(error);
  }

  async run(): Promise<RunResult> {
    const { runbook } = this.options.loaded;
    try {
      const firstOpen = runbook.steps.find((step) => !this.state.steps[step.id]);
      await this.emit('run-started', null, {
        runbook: {
          id: runbook.id,
          title: runbook.title,
          kind: runbook.kind,
          file: this.options.loaded.file,
          sha256: this.options.loaded.sha256,
          targets: { ...runbook.targets },
        },
        params: this.state.params,
        paramTypes: Object.fromEntries(Object.entries(runbook.params).map(([name, param]) => [name, param.type])),
        target: this.state.target,
        contacts: [...runbook.contacts, ...(this.options.contacts ?? [])],
        dryRun: this.dryRun,
        startedAt: this.state.startedAt,
        steps: runbook.steps.map((step) => ({ id: step.id, title: step.title, type: stepKind(step) })),
        ...(this.resumedFrom ? { resumed: { fromStep: firstOpen?.id ?? null, previousStatus: this.resumedFrom } } : {}),
      });
      this.save();
      if (this.state.rollback) {
        await this.rollBack();
        return await this.finish(this.state.rollback.outcome, { failedStep: this.state.rollback.failedStep, error: this.state.rollback.error });
      }
      for (const [index, step] of runbook.steps.entries()) {
        if (this.state.steps[step.id]) continue;
        this.checkInterrupted();
        if (this.operatorAbort) throw new AbortRun('aborted', step.id, false, { code: 'ABORTED', message: this.operatorAbort.reason });
        const startedAt = new Date(this.clock()).toISOString();
        this.state.current = step.id;
        this.save();
        const result = await this.runStep(step, { index, total: runbook.steps.length, resumed: step.id === firstOpen?.id && Boolean(this.resumedFrom) });
        if (result.outcome === 'ok' || result.outcome === 'skipped') {
          const finishedAt = this.clock();
          this.state.steps[step.id] = {
            outcome: result.outcome,
            outputs: result.outputs,
            reason: result.reason,
            startedAt,
            finishedAt: new Date(finishedAt).toISOString(),
            durationMs: finishedAt - Date.parse(startedAt),
          };
        }
        this.state.current = null;
        this.save();
      }
      return await this.finish(this.state.skipped.length ? 'skipped-steps' : 'succeeded');
    } catch (error) {
      return this.end(error);
    }
  }

  private async end(error: unknown): Promise<RunResult> {
    if (this.sinkError) {
      // The audit trail could not be written: nothing more may happen unrecorded.
      this.state.status = 'interrupted';
      this.save();
      throw this.sinkError;
    }
    if (error instanceof AbortRun) {
      this.state.rollback = { queue: this.rollbackQueue(error), outcome: error.outcome, failedStep: error.step, error: error.error };
      this.state.status = 'rolling-back';
      this.save();
      try {
        await this.rollBack();
      } catch (inner) {
        return this.end(inner);
      }
      return this.finish(error.outcome, { failedStep: error.step, error: error.error });
    }
    const failedStep = this.state.current ?? undefined;
    if (error instanceof Interrupted || this.signal.aborted) return this.finish('interrupted', { failedStep, error: errorInfo(this.signal.reason ?? error) });
    if (isLifelineError(error) && error.code === 'INPUT_NEEDED') return this.finish('input-needed', { failedStep, error: errorInfo(error) });
    // Not a step failure but a bug or a broken environment: recorded, then shown with its stack.
    await this.finish('failed', { failedStep, error: errorInfo(error) }).catch(() => undefined);
    throw error;
  }

  private async finish(outcome: RunOutcome, extra: { failedStep?: string; error?: ErrorInfo } = {}): Promise<RunResult> {
    await this.flush();
    const measurements: Measurements = this.dryRun
      ? { notes: ['dry-run: nothing was restored, so nothing was measured.'] }
      : outcome === 'interrupted' || outcome === 'input-needed'
        ? { notes: ['The run has not finished: RTO and RPO are measured when it does.'] }
        : measureRun({ runbook: this.options.loaded.runbook, state: this.state, scope: this.scope() });
    const exitCode = this.dryRun && outcome === 'succeeded' && this.failedChecks > 0 ? EXIT.failure : OUTCOME_EXIT[outcome];
    this.state.status = outcome === 'interrupted' || outcome === 'input-needed' ? outcome : 'finished';
    if (this.state.status === 'finished') {
      this.state.outcome = outcome;
      this.state.rollback = undefined;
    }
    this.state.current = outcome === 'interrupted' || outcome === 'input-needed' ? this.state.current : null;
    this.save();
    await this.emit('run-finished', null, {
      outcome,
      exitCode,
      durationMs: this.clock() - Date.parse(this.state.startedAt),
      skipped: this.state.skipped,
      failedStep: extra.failedStep,
      error: extra.error,
      failedChecks: this.failedChecks,
      measurements,
    });
    return { runId: this.runId, outcome, exitCode, skipped: this.state.skipped, measurements, failedStep: extra.failedStep, error: extra.error };
  }

  // ---- steps ---------------------------------------------------------------------------------

  private async runStep(step: Step | RollbackStep, context: StepContext): Promise<StepResult> {
    const started = this.clock();
    const type = stepKind(step);
    const scope = this.scope();
    const placeholder = { placeholderMissing: true };
    const description =
      type === 'action' ? this.describeAction(step, scope) : type === 'manual' ? renderText(step.manual!, scope, placeholder) : undefined;
    await this.emit('step-started', step.id, {
      title: renderText(step.title, scope, placeholder),
      type,
      index: context.index,
      total: context.total,
      explain: step.explain ? renderText(step.explain, scope, placeholder) : undefined,
      describe: description,
      rollbackOf: context.rollbackOf,
      resumed: context.resumed || undefined,
    });
    const deviations: NonNullable<StepFinishedData['deviations']> = [];
    let attempts = 1;
    const finish = async (result: StepResult, extra: Partial<StepFinishedData> = {}): Promise<StepResult> => {
      await this.flush();
      await this.emit('step-finished', step.id, {
        outcome: result.outcome,
        durationMs: this.clock() - started,
        attempts,
        outputs: Object.keys(result.outputs).length ? result.outputs : undefined,
        reason: result.reason,
        deviations: deviations.length ? deviations : undefined,
        rollbackOf: context.rollbackOf,
        ...extra,
      });
      return result;
    };
    const skip = (reason: string, unattended: boolean) => {
      this.state.skipped.push({ step: step.id, what: context.rollbackOf ? `rollback of ${context.rollbackOf}` : 'step', reason, unattended });
      return finish({ outcome: 'skipped', outputs: {}, reason });
    };

    try {
      if (step.confirm && !this.dryRun) {
        const answer = await this.confirm(step, scope);
        if (answer.type === 'skip') return await skip(answer.reason, Boolean(answer.unattended));
        if (answer.type === 'abort') throw this.abortFrom(step.id, answer, false);
      }

      await this.runChecks(step, 'pre', deviations, Boolean(context.rollbackOf));

      let outputs: Record<string, unknown> = {};
      if (type === 'action') {
        if (this.dryRun) return await finish({ outcome: 'described', outputs: {} });
        const policy: OnFailure = (step as Step).on_failure ?? { retries: 0, then: 'ask', rollback: [] };
        for (;;) {
          try {
            outputs = await this.runAction(step, scope);
            break;
          } catch (error) {
            this.checkInterrupted();
            if (this.operatorAbort) throw new AbortRun('aborted', step.id, true, { code: 'ABORTED', message: this.operatorAbort.reason });
            const info = errorInfo(error);
            const retriesLeft = Math.max(0, policy.retries - (attempts - 1));
            await this.emit('attempt-failed', step.id, { phase: 'action', attempt: attempts, error: info, retriesLeft });
            if (context.rollbackOf) return await finish({ outcome: 'failed', outputs: {} }, { error: info });
            if (retriesLeft > 0) {
              attempts++;
              continue;
            }
            if (policy.then === 'skip') return await skip(policy.reason ?? 'the runbook skips this step when it fails', true);
            if (policy.then === 'abort') {
              await finish({ outcome: 'failed', outputs: {} }, { error: info });
              throw new AbortRun('failed', step.id, true, info);
            }
            const answer = await this.ask({ kind: 'decision', step: step.id, phase: 'action', failure: info.message, attempt: attempts, accepts: ['retry', 'skip', 'abort'] });
            if (answer.type === 'retry') {
              attempts++;
              continue;
            }
            if (answer.type === 'skip') return await skip(answer.reason, Boolean(answer.unattended));
            await finish({ outcome: 'failed', outputs: {} }, { error: info });
            throw this.abortFrom(step.id, answer, true, info);
          }
        }
      } else if (type === 'manual') {
        if (this.dryRun) return await finish({ outcome: 'described', outputs: {} });
        const answer = await this.ask({ kind: 'manual', step: step.id, instruction: description!, accepts: ['yes', 'skip', 'abort'] });
        if (answer.type === 'skip') return await skip(answer.reason, Boolean(answer.unattended));
        if (answer.type === 'abort') throw this.abortFrom(step.id, answer, false);
      }

      // Post-checks look at what the action changed: in dry-run only a checks-only step runs them.
      if (!this.dryRun || type === 'checks') {
        await this.runChecks(step, 'post', deviations, Boolean(context.rollbackOf), outputs);
      }
      return await finish({ outcome: this.dryRun ? 'described' : 'ok', outputs });
    } catch (error) {
      if (error instanceof AbortRun) {
        if (!this.finishedSteps.has(step.id)) await finish({ outcome: 'aborted', outputs: {} }, { error: error.error, reason: error.message });
        throw error;
      }
      if (error instanceof Interrupted || this.signal.aborted) {
        await this.emit('step-finished', step.id, { outcome: 'interrupted', durationMs: this.clock() - started, attempts, rollbackOf: context.rollbackOf });
        throw new Interrupted();
      }
      throw error;
    } finally {
      this.finishedSteps.delete(step.id);
    }
  }

  /** Steps that already emitted step-finished during the current attempt (failed then aborted). */
  private readonly finishedSteps = new Set<string>();

  private abortFrom(step: string, answer: GivenAnswer, rollbackSelf: boolean, error?: ErrorInfo): AbortRun {
    const reason = answer.type === 'abort' && answer.reason ? answer.reason : 'the operator chose to abort';
    return new AbortRun(answer.unattended ? 'failed' : 'aborted', step, rollbackSelf, error ?? { code: 'ABORTED', message: reason });
  }

  private describeAction(step: RollbackStep, scope: TemplateScope): string {
    const action = this.options.registry.action(step.action!)!;
    const args = renderValue(step.with ?? {}, scope, { placeholderMissing: true });
    const parsed = action.paramsSchema.safeParse(args);
    if (parsed.success) return action.describe(parsed.data);
    return `${action.name} ${JSON.stringify(args)}`;
  }

  private async runAction(step: RollbackStep, scope: TemplateScope): Promise<Record<string, unknown>> {
    const action = this.options.registry.action(step.action!)!;
    const args = renderValue(step.with ?? {}, scope);
    const parsed = action.paramsSchema.safeParse(args);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new LifelineError('USAGE', `Step "${step.id}": invalid arguments for ${action.name}: ${issue.path.map(String).join('.') || 'with'}: ${issue.message}`, {
        hint: 'A templated value did not render to what the action accepts.',
      });
    }
    this.actionController = new AbortController();
    const signal = AbortSignal.any([this.signal, this.actionController.signal]);
    try {
      const outputs = await action.run({
        with: parsed.data,
        signal,
        services: this.options.services,
        run: this.runInfo(),
        onProgress: (progress) => {
          void this.emit('progress', step.id, progress).catch(() => undefined);
        },
        onOutput: (line, stream = 'stdout') => {
          void this.emit('output-line', step.id, { stream, line }).catch(() => undefined);
        },
      });
      await this.flush();
      return outputs ?? {};
    } finally {
      this.actionController = undefined;
      await this.flush().catch(() => undefined);
    }
  }

  /**
   * Runs the checks of one phase until they pass or someone decides: retry runs them again,
   * skip goes on despite them (recorded as a deviation), abort ends the run. In a rollback,
   * failures are recorded and the rollback goes on.
   */
  private async runChecks(
    step: RollbackStep,
    phase: 'pre' | 'post',
    deviations: NonNullable<StepFinishedData['deviations']>,
    inRollback: boolean,
    /** Post-checks see the outputs of the action they check as {{steps.<this step>.<output>}}. */
    ownOutputs?: Record<string, unknown>,
  ): Promise<void> {
    const refs = step.checks?.[phase] ?? [];
    if (!refs.length) return;
    for (let attempt = 1; ; attempt++) {
      const failed: Array<{ check: string; detail: string }> = [];
      for (const ref of refs) {
        const result = await this.runCheck(step, ref, phase, attempt, ownOutputs);
        if (!result.ok) failed.push(result);
      }
      if (!failed.length) return;
      if (this.dryRun) {
        this.failedChecks += failed.length;
        return;
      }
      if (inRollback) return;
      const failure = failed.map((f) => `${f.check}: ${f.detail}`).join('; ');
      const answer = await this.ask({ kind: 'decision', step: step.id, phase, failure, attempt, accepts: ['retry', 'skip', 'abort'] });
      if (answer.type === 'retry') continue;
      if (answer.type === 'skip') {
        for (const { check } of failed) {
          deviations.push({ check, phase, reason: answer.reason });
          this.state.skipped.push({ step: step.id, what: `${phase}-check ${check}`, reason: answer.reason, unattended: Boolean(answer.unattended) });
        }
        return;
      }
      throw this.abortFrom(step.id, answer, phase === 'post', { code: 'CHECK_FAILED', message: failure });
    }
  }

  private async runCheck(
    step: RollbackStep,
    ref: CheckRef,
    phase: 'pre' | 'post',
    attempt: number,
    ownOutputs?: Record<string, unknown>,
  ): Promise<{ ok: boolean; check: string; detail: string }> {
    const { check: name, with: rawArgs, title } = normalizeCheckRef(ref);
    const check = this.options.registry.check(name)!;
    const started = this.clock();
    let ok = false;
    let detail: string;
    let describe = name;
    try {
      const scope = this.scope();
      if (ownOutputs) scope.steps[step.id] = ownOutputs;
      const args = renderValue(rawArgs, scope, { placeholderMissing: this.dryRun });
      const parsed = check.paramsSchema.safeParse(args);
      if (!parsed.success) {
        detail = `invalid arguments: ${parsed.error.issues[0].message}`;
      } else {
        describe = check.describe(parsed.data);
        const result = await check.run({ with: parsed.data, signal: this.signal, services: this.options.services, run: this.runInfo() });
        ok = result.ok;
        detail = result.detail;
      }
    } catch (error) {
      this.checkInterrupted();
      detail = errorInfo(error).message;
    }
    await this.emit('check-result', step.id, { phase, check: name, title: title ?? describe, ok, detail, durationMs: this.clock() - started, attempt });
    return { ok, check: name, detail };
  }

  // ---- answers -------------------------------------------------------------------------------

  private async confirm(step: RollbackStep, scope: TemplateScope): Promise<GivenAnswer> {
    const confirm = step.confirm!;
    const sandbox = this.state.target.sandbox;
    const title = renderText(step.title, scope, { placeholderMissing: true });
    if (confirm.type === 'yes-no') {
      return this.ask({ kind: 'confirm', step: step.id, prompt: confirm.prompt ? renderText(confirm.prompt, scope) : `Run "${title}"?`, sandbox, accepts: ['yes', 'skip', 'abort'] });
    }
    const expected = renderText(confirm.phrase, scope);
    const prompt = confirm.prompt ? renderText(confirm.prompt, scope) : `Type ${expected} to confirm "${title}"`;
    let mismatch: string | undefined;
    for (;;) {
      const answer = await this.ask({ kind: 'typed', step: step.id, prompt, expected, sandbox, mismatch, accepts: ['typed', 'skip', 'abort'] });
      if (answer.type !== 'typed') return answer;
      if (answer.text === expected) return answer;
      mismatch = `Value must be exactly ${expected}`;
    }
  }

  private async ask(request: InputRequest): Promise<GivenAnswer> {
    this.checkInterrupted();
    if (this.operatorAbort) return { type: 'abort', reason: this.operatorAbort.reason };
    await this.emit('awaiting-input', request.step, { request });
    const stop = AbortSignal.any([this.signal, this.operatorAbortController.signal]);
    const answer = await new Promise<GivenAnswer>((resolve, reject) => {
      const onStop = () => {
        if (this.signal.aborted) reject(new Interrupted());
        else resolve({ type: 'abort', reason: this.operatorAbort?.reason });
      };
      if (stop.aborted) return onStop();
      stop.addEventListener('abort', onStop, { once: true });
      this.options.answer(request, { signal: stop }).then(
        (value) => {
          stop.removeEventListener('abort', onStop);
          resolve(value);
        },
        (error: unknown) => {
          stop.removeEventListener('abort', onStop);
          reject(error);
        },
      );
    });
    checkAnswer(request, answer);
    const { unattended, ...plain } = answer;
    await this.emit('answered', request.step, { answer: plain as Answer, unattended: Boolean(unattended) });
    return answer;
  }

  // ---- rollback ------------------------------------------------------------------------------

  private rollbackQueue(abort: AbortRun): string[] {
    const { steps } = this.options.loaded.runbook;
    const hasRollback = (step: Step) => Boolean(step.on_failure?.rollback.length);
    const done = steps.filter((step) => this.state.steps[step.id]?.outcome === 'ok' && hasRollback(step)).map((step) => step.id).reverse();
    const self = steps.find((step) => step.id === abort.step);
    return abort.rollbackSelf && self && hasRollback(self) && !done.includes(self.id) ? [self.id, ...done] : done;
  }

  private async rollBack(): Promise<void> {
    const rollback = this.state.rollback!;
    const { steps } = this.options.loaded.runbook;
    while (rollback.queue.length) {
      const owner = steps.find((step) => step.id === rollback.queue[0])!;
      const rollbackSteps = owner.on_failure?.rollback ?? [];
      for (const [index, step] of rollbackSteps.entries()) {
        this.checkInterrupted();
        try {
          await this.runStep(step, { index, total: rollbackSteps.length, rollbackOf: owner.id });
        } catch (error) {
          // An abort answer during a rollback stops the rollbacks; everything else was recorded.
          if (error instanceof AbortRun) {
            rollback.queue = [];
            break;
          }
          throw error;
        }
      }
      rollback.queue.shift();
      this.save();
    }
  }

  // ---- plumbing ------------------------------------------------------------------------------

  private scope(): TemplateScope {
    return {
      params: this.state.params,
      target: this.state.target,
      steps: Object.fromEntries(Object.entries(this.state.steps).map(([id, step]) => [id, step.outputs])),
      run: { id: this.runId, operator: this.options.operator, host: this.options.host, started_at: this.state.startedAt },
    };
  }

  private runInfo(): RunInfo {
    return { id: this.runId, operator: this.options.operator, target: this.state.target, dryRun: this.dryRun };
  }

  private checkInterrupted(): void {
    if (this.signal.aborted) throw new Interrupted();
  }

  private save(): void {
    if (this.dryRun) return;
    this.state.updatedAt = new Date(this.clock()).toISOString();
    saveRunState(this.options.runsDir, this.state);
  }

  private emit<K extends RunEventKind>(kind: K, step: string | null, data: RunEventData[K]): Promise<void> {
    // Every view (audit log, plain lines, TUI) sees the same text, and none of them a password.
    const event = { kind, runId: this.runId, time: new Date(this.clock()).toISOString(), step, data: redactValue(data) } as RunEvent;
    if (kind === 'step-finished' && step) this.finishedSteps.add(step);
    const delivery = this.chain.then(async () => {
      for (const sink of this.sinks) await sink(event);
    });
    this.chain = delivery.catch((error: unknown) => {
      this.sinkError ??= error;
    });
    return delivery;
  }

  /** Waits until every event so far is delivered (and, for the audit log, on disk). */
  private async flush(): Promise<void> {
    await this.chain;
    if (this.sinkError) throw this.sinkError;
  }
}

function checkAnswer(request: InputRequest, answer: GivenAnswer): void {
  const accepted = request.accepts as AnswerType[];
  if (!accepted.includes(answer.type)) {
    throw new LifelineError('USAGE', `"${answer.type}" does not answer this question (${request.kind} for step ${request.step}; accepted: ${accepted.join(', ')}).`);
  }
  if (answer.type === 'skip' && !answer.reason.trim()) {
    throw new LifelineError('USAGE', `Skipping step ${request.step} needs a reason.`, { hint: 'Say why, so the reviewer reading the audit trail knows.' });
  }
}
