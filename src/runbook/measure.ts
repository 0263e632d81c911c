import type { Measurement, Measurements } from './events.js';
import type { RunState } from './run-state.js';
import { parseDuration, type Runbook } from './schema.js';
import { renderString, type TemplateScope } from './template.js';

/**
 * RTO and RPO as the run actually achieved them.
 * RTO: run start to the end of the step that verified the recovery (`measure.recovered`).
 * RPO: the reference time minus the newest data restored (`measure.data_through`), where the
 * reference is the incident or target time for a recovery and the run start for a drill
 * (what a disaster at that moment would have lost).
 */
export interface MeasureOptions {
  runbook: Runbook;
  state: RunState;
  scope: TemplateScope;
}

export function measureRun({ runbook, state, scope }: MeasureOptions): Measurements {
  const notes: string[] = [];
  const { measure, targets } = runbook;
  const result: Measurements = { notes };
  const target = (duration: string | undefined) => (duration ? parseDuration(duration) : undefined);
  const measurement = (from: number, to: number, targetMs: number | undefined): Measurement => ({
    ms: to - from,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    ...(targetMs !== undefined ? { targetMs, met: to - from <= targetMs } : {}),
  });

  if (measure.recovered) {
    const step = state.steps[measure.recovered];
    if (step?.outcome === 'ok') result.rto = measurement(Date.parse(state.startedAt), Date.parse(step.finishedAt), target(targets.rto));
    else notes.push(`RTO not measured: step "${measure.recovered}" did not complete${step ? ` (${step.outcome}: ${step.reason ?? ''})` : ''}.`);
  } else if (targets.rto) notes.push('RTO not measured: the runbook names no `measure.recovered` step.');

  if (measure.data_through) {
    const dataThrough = timeOf(measure.data_through, scope);
    const reference = runbook.kind === 'recovery' ? (measure.incident ? timeOf(measure.incident, scope) : undefined) : Date.parse(state.startedAt);
    if (dataThrough === undefined) notes.push(`RPO not measured: ${measure.data_through} has no time value in this run.`);
    else if (reference === undefined) notes.push(`RPO not measured: ${measure.incident ?? 'measure.incident'} has no time value in this run.`);
    else if (dataThrough > reference) {
      // Data newer than the reference: the backup was taken during this run (a drill on an empty
      // repository) or the recovery went past the incident time. Nothing older was lost, but say so.
      result.rpo = measurement(reference, reference, target(targets.rpo));
      result.rpo.from = new Date(dataThrough).toISOString();
      notes.push(
        runbook.kind === 'recovery'
          ? `The restored data (as of ${new Date(dataThrough).toISOString()}) is newer than the incident time (${new Date(reference).toISOString()}): RPO counted as 0.`
          : `The restored backup was taken during this run (data as of ${new Date(dataThrough).toISOString()}, after the run started at ${new Date(reference).toISOString()}), so the RPO is 0 by construction: it proves a fresh backup restores, not what an incident at the start would have lost. The next drill measures against the backup that exists then.`,
      );
    } else result.rpo = measurement(dataThrough, reference, target(targets.rpo));
  } else if (targets.rpo) notes.push('RPO not measured: the runbook names no `measure.data_through`.');
  return result;
}

function timeOf(template: string, scope: TemplateScope): number | undefined {
  try {
    const value = renderString(template, scope);
    const time = value instanceof Date ? value.getTime() : typeof value === 'string' || typeof value === 'number' ? new Date(value).getTime() : NaN;
    return Number.isNaN(time) ? undefined : time;
  } catch {
    return undefined;
  }
}
