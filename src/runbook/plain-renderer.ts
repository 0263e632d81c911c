import { formatDuration } from './duration.js';
import type { Measurement, RunEvent, RunEventSink } from './events.js';

/**
 * The line view of a run for cron, CI, logs and --plain: one line per thing that happened,
 * no colour, no cursor movement. The same events feed the TUI and the audit log.
 */
export interface PlainRendererOptions {
  write(line: string): void;
  /** Print every progress update, not only the ones with a message. */
  verbose?: boolean;
  /** Print the questions (off when a line prompter asks them itself). */
  showQuestions?: boolean;
}

export function createPlainRenderer({ write, verbose, showQuestions = true }: PlainRendererOptions): RunEventSink {
  let lastPhase: string | undefined;
  return (event: RunEvent) => {
    const indent = (text: string) => write(`    ${text}`);
    switch (event.kind) {
      case 'run-started': {
        const { runbook, target, dryRun, resumed } = event.data;
        write(`run ${event.runId}: ${runbook.title} (${runbook.id}) on ${target.label}${dryRun ? ' [dry-run: nothing will be changed]' : ''}`);
        if (resumed) write(`  resuming from ${resumed.fromStep ? `step ${resumed.fromStep}` : 'the end'} (the run was ${resumed.previousStatus})`);
        break;
      }
      case 'step-started': {
        const { index, total, title, type, describe, explain, rollbackOf } = event.data;
        lastPhase = undefined;
        write(`${rollbackOf ? `  rollback of ${rollbackOf}: ` : `[${index + 1}/${total}] `}${title} (${event.step}, ${type})`);
        if (explain) indent(`why: ${explain.trim().replace(/\s*\n\s*/g, ' ')}`);
        if (describe) indent(`${type === 'manual' ? 'do' : 'will'}: ${describe.trim().replace(/\s*\n\s*/g, ' ')}`);
        break;
      }
      case 'check-result': {
        const { phase, title, ok, detail, attempt } = event.data;
        indent(`${ok ? 'ok  ' : 'FAIL'} ${phase}-check ${title}${attempt > 1 ? ` (attempt ${attempt})` : ''}: ${detail}`);
        break;
      }
      case 'progress': {
        const { phase, message } = event.data;
        if (message) indent(`... ${message}`);
        else if (verbose || phase !== lastPhase) indent(`... ${phase}`);
        lastPhase = phase;
        break;
      }
      case 'output-line':
        indent(`${event.data.stream === 'stderr' ? '!' : '>'} ${event.data.line}`);
        break;
      case 'awaiting-input': {
        if (!showQuestions) break;
        const { request } = event.data;
        const text =
          request.kind === 'decision' ? `failed: ${request.failure}; waiting for a decision (${request.accepts.join(' / ')})`
          : request.kind === 'typed' ? `${request.mismatch ? `${request.mismatch}. ` : ''}${request.prompt}`
          : request.kind === 'manual' ? `waiting for the operator to do it (done / skip / abort)`
          : request.prompt;
        indent(`? ${text}`);
        break;
      }
      case 'answered': {
        const { answer, unattended } = event.data;
        const text = answer.type === 'skip' ? `skip: ${answer.reason}` : answer.type === 'abort' ? `abort${answer.reason ? `: ${answer.reason}` : ''}` : answer.type === 'typed' ? 'typed' : answer.type;
        indent(`answer: ${text}${unattended ? ' (unattended)' : ''}`);
        break;
      }
      case 'attempt-failed': {
        const { attempt, error, retriesLeft } = event.data;
        indent(`attempt ${attempt} failed: ${error.message}${retriesLeft ? ` (retrying, ${retriesLeft} left)` : ''}`);
        if (error.hint) indent(`hint: ${error.hint}`);
        break;
      }
      case 'step-finished': {
        const { outcome, durationMs, reason, outputs, error } = event.data;
        const detail = outcome === 'skipped' ? `: ${reason}` : outcome === 'failed' || outcome === 'aborted' ? `: ${error?.message ?? reason ?? ''}` : '';
        indent(`${outcome}${detail} (${formatDuration(durationMs)})`);
        if (outputs && outcome === 'ok') indent(`outputs: ${Object.entries(outputs).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}`);
        break;
      }
      case 'run-finished': {
        const { outcome, exitCode, durationMs, skipped, measurements, failedChecks, error } = event.data;
        write(`run ${outcome} in ${formatDuration(durationMs)} (exit ${exitCode})${failedChecks ? `, ${failedChecks} check${failedChecks > 1 ? 's' : ''} failed` : ''}`);
        if (error && outcome !== 'succeeded' && outcome !== 'skipped-steps') {
          write(`  ${error.message}`);
          if (error.hint) write(`  hint: ${error.hint}`);
        }
        for (const skip of skipped) write(`  skipped ${skip.step} (${skip.what}): ${skip.reason}${skip.unattended ? ' [unattended]' : ''}`);
        if (measurements.rto) write(`  RTO ${objective(measurements.rto)}`);
        if (measurements.rpo) write(`  RPO ${objective(measurements.rpo)}`);
        for (const note of measurements.notes) write(`  ${note}`);
        break;
      }
    }
  };
}

function objective(measurement: Measurement): string {
  const target = measurement.targetMs === undefined ? '' : ` against ${formatDuration(measurement.targetMs)}: ${measurement.met ? 'met' : 'MISSED'}`;
  return `${formatDuration(measurement.ms)}${target}`;
}
