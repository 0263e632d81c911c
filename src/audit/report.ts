import type {
  AttemptFailedData,
  CheckResultData,
  InputRequest,
  Measurement,
  RunFinishedData,
  RunStartedData,
  StepFinishedData,
  StepStartedData,
} from '../runbook/events.js';
import { formatDuration } from '../runbook/duration.js';
import type { AuditLine } from './chain.js';
import type { AuditVerification } from './verify.js';

/**
 * The drill report a reviewer reads: who, when, which runbook and backup, every step with its
 * duration and outcome, the checks, what was skipped and why, and RTO/RPO against the targets.
 * Built from the audit lines alone, so it can be rebuilt from any copy of the trail.
 */
export interface ReportOptions {
  lines: AuditLine[];
  verification: AuditVerification;
}

interface StepRow {
  key: string;
  id: string;
  title: string;
  type: string;
  rollbackOf?: string;
  startedAt: string;
  finished?: StepFinishedData;
  finishedAt?: string;
  interruptions: number;
  failures: AttemptFailedData[];
  open: boolean;
}

export function renderReport({ lines, verification }: ReportOptions): string {
  const starts = lines.filter((line) => line.kind === 'run-started');
  const first = starts[0];
  if (!first) return `# Run report\n\nThe audit file ${verification.file} has no run-started line: there is nothing to report.\n`;
  const started = first.data as RunStartedData;
  const finishedLine = [...lines].reverse().find((line) => line.kind === 'run-finished');
  const finished = finishedLine?.data as RunFinishedData | undefined;
  const kind = started.runbook.kind;
  const title = `${kind === 'drill' ? 'Drill report' : kind === 'recovery' ? 'Recovery report' : 'Run report'}: ${started.runbook.title}`;
  const out: string[] = [`# ${title}`, ''];

  const backups = backupsUsed(lines, started);
  const resumes = starts.slice(1).map((line) => `${formatTime(line.time)} by ${line.operator}`);
  const facts: Array<[string, string]> = [
    ['Run', code(first.runId)],
    ['Runbook', `${code(started.runbook.id)}: ${started.runbook.title} (${kind})`],
    ['Operator', first.operator + (started.params.trainee && started.params.trainee !== first.operator ? ` (trainee: ${started.params.trainee})` : '')],
    ['Host', first.host],
    ['Target', `${started.target.label}${started.target.sandbox && !/sandbox/.test(started.target.label) ? ' (sandbox)' : ''}`],
    ['Started', formatTime(started.startedAt)],
    ['Finished', finishedLine ? `${formatTime(finishedLine.time)} (after ${formatDuration(finished!.durationMs)})` : 'not recorded: the run did not finish'],
    ['Outcome', finished ? outcomeText(finished) : 'incomplete'],
    ['Backup used', backups.length ? backups.map(code).join(', ') : 'none recorded'],
  ];
  if (resumes.length) facts.push(['Resumed', resumes.join('; ')]);
  if (started.dryRun) facts.push(['Mode', 'dry-run: checks ran, actions were only described, nothing was changed']);
  facts.push([
    'Audit trail',
    verification.ok
      ? `intact: ${verification.lines} lines, sha256 chain ends in ${code(verification.lastHash ?? '')}${verification.complete ? '' : ' (no run-finished line)'}`
      : `**BROKEN** at line ${verification.firstBad!.line}: ${verification.firstBad!.reason}`,
  ]);
  out.push('| | |', '|---|---|', ...facts.map(([name, value]) => `| ${name} | ${cell(value)} |`), '');

  out.push('## Recovery objectives', '');
  const measurements = finished?.measurements;
  const referenceLabel = kind === 'recovery' ? 'incident or target time' : kind === 'drill' ? 'drill start' : 'run start';
  const { rto, rpo } = started.runbook.targets;
  if (!rto && !rpo && !measurements?.rto && !measurements?.rpo) out.push('This runbook sets no RTO or RPO targets and measures neither.');
  else {
    out.push('| Objective | Target | Measured | Met |', '|---|---|---|---|');
    out.push(objectiveRow('RTO (start to verified recovery)', rto, measurements?.rto));
    out.push(objectiveRow(`RPO (${referenceLabel} minus newest data restored)`, rpo, measurements?.rpo));
  }
  out.push('');
  for (const note of measurements?.notes ?? (finished ? [] : ['The run did not finish: nothing was measured.'])) out.push(`- ${note}`);
  if (measurements?.rpo) out.push(`- Newest data restored: ${formatTime(measurements.rpo.from)}; reference: ${formatTime(measurements.rpo.to)}.`);
  if (measurements?.rto) out.push(`- Recovery verified at ${formatTime(measurements.rto.to)}.`);
  out.push('');

  const steps = stepRows(lines);
  out.push('## Steps', '', '| # | Step | Kind | Started | Duration | Outcome | Notes |', '|---|---|---|---|---|---|---|');
  steps.forEach((row, index) => {
    const notes: string[] = [];
    if (row.rollbackOf) notes.push(`rollback of ${row.rollbackOf}`);
    if (row.finished && row.finished.attempts > 1) notes.push(`${row.finished.attempts} attempts`);
    for (const failure of row.failures) notes.push(`attempt ${failure.attempt} failed: ${failure.error.message}`);
    if (row.interruptions) notes.push(`interrupted ${row.interruptions}x, resumed`);
    if (row.finished?.reason) notes.push(row.finished.reason);
    if (row.finished?.error && !row.failures.length) notes.push(row.finished.error.message);
    for (const deviation of row.finished?.deviations ?? []) notes.push(`${deviation.phase}-check ${deviation.check} overridden: ${deviation.reason}`);
    out.push(
      `| ${index + 1} | ${cell(`${row.title} (${code(row.id)})`)} | ${row.type} | ${formatClock(row.startedAt)} | ${row.finished ? formatDuration(row.finished.durationMs) : '-'} | ${row.finished?.outcome ?? 'unfinished'} | ${cell(notes.join('; '))} |`,
    );
  });
  out.push('');

  const checks = lines.filter((line) => line.kind === 'check-result');
  out.push('## Checks', '');
  if (!checks.length) out.push('No live checks ran.', '');
  else {
    out.push('| Step | Phase | Check | Attempt | Result | Detail |', '|---|---|---|---|---|---|');
    for (const line of checks) {
      const check = line.data as CheckResultData;
      out.push(`| ${code(line.step ?? '')} | ${check.phase} | ${cell(check.title)} | ${check.attempt} | ${check.ok ? 'passed' : '**failed**'} | ${cell(check.detail)} |`);
    }
    out.push('');
  }

  out.push('## Skipped steps and deviations', '');
  const skipped = finished?.skipped ?? [];
  if (!skipped.length) out.push('None.');
  for (const skip of skipped) out.push(`- ${code(skip.step)} (${skip.what}): ${skip.reason}${skip.unattended ? ' (unattended)' : ''}`);
  out.push('');

  const answers = decisions(lines);
  out.push('## Decisions', '');
  if (!answers.length) out.push('No input was asked for.');
  for (const answer of answers) out.push(`- ${answer}`);
  out.push('');

  const params = Object.entries(started.params);
  if (params.length) {
    out.push('## Params', '', '| Name | Type | Value |', '|---|---|---|');
    for (const [name, value] of params) out.push(`| ${name} | ${started.paramTypes[name] ?? ''} | ${cell(value)} |`);
    out.push('');
  }
  if (finished && finished.outcome !== 'succeeded' && started.contacts.length) {
    out.push('## Contacts', '');
    for (const contact of started.contacts) out.push(`- ${[contact.name, contact.role, contact.phone, contact.email].filter(Boolean).join(', ')}`);
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function stepRows(lines: AuditLine[]): StepRow[] {
  const rows = new Map<string, StepRow>();
  let current = new Map<string, string>();
  for (const line of lines) {
    if (!line.step) continue;
    if (line.kind === 'step-started') {
      const data = line.data as StepStartedData;
      const key = data.rollbackOf ? `${data.rollbackOf}/${line.step}` : line.step;
      current.set(line.step, key);
      const existing = rows.get(key);
      // Started again: either it ended "interrupted" (Ctrl-C) or it never ended (the process died).
      if (existing) existing.interruptions += existing.open || existing.finished?.outcome === 'interrupted' ? 1 : 0;
      else rows.set(key, { key, id: line.step, title: data.title, type: data.type, rollbackOf: data.rollbackOf, startedAt: line.time, interruptions: 0, failures: [], open: true });
      rows.get(key)!.open = true;
    } else if (line.kind === 'step-finished') {
      const row = rows.get(current.get(line.step) ?? line.step);
      if (row) {
        row.open = false;
        row.finished = line.data as StepFinishedData;
        row.finishedAt = line.time;
      }
    } else if (line.kind === 'attempt-failed') {
      rows.get(current.get(line.step) ?? line.step)?.failures.push(line.data as AttemptFailedData);
    } else if (line.kind === 'run-started') current = new Map();
  }
  return [...rows.values()];
}

function decisions(lines: AuditLine[]): string[] {
  const result: string[] = [];
  let pending: InputRequest | undefined;
  for (const line of lines) {
    if (line.kind === 'awaiting-input') pending = (line.data as { request: InputRequest }).request;
    if (line.kind === 'answered' && pending) {
      const { answer, unattended } = line.data as { answer: { type: string; reason?: string; text?: string }; unattended: boolean };
      const question = pending.kind === 'decision' ? `${pending.phase} failed (${pending.failure})` : pending.kind === 'typed' ? 'typed confirmation' : pending.kind;
      const given = answer.type === 'skip' ? `skip: ${answer.reason}` : answer.type === 'abort' ? `abort${answer.reason ? `: ${answer.reason}` : ''}` : answer.type === 'typed' ? 'typed the phrase' : answer.type;
      result.push(`${formatClock(line.time)} ${code(pending.step)}: ${question} → ${given} (${unattended ? 'unattended' : line.operator})`);
      pending = undefined;
    }
  }
  return result;
}

function backupsUsed(lines: AuditLine[], started: RunStartedData): string[] {
  const found = new Set<string>();
  for (const [name, type] of Object.entries(started.paramTypes)) if (type === 'backup' && started.params[name]) found.add(started.params[name]);
  for (const line of lines) {
    if (line.kind !== 'step-finished') continue;
    const outputs = (line.data as StepFinishedData).outputs;
    if (typeof outputs?.backupId === 'string') found.add(outputs.backupId);
  }
  // "latest-verified" is only how the operator asked; the resolved id says which one it was.
  if ([...found].some((id) => !id.startsWith('latest'))) for (const id of [...found]) if (id.startsWith('latest')) found.delete(id);
  return [...found];
}

function objectiveRow(label: string, target: string | undefined, measured: Measurement | undefined): string {
  const met = measured?.met === undefined ? '-' : measured.met ? 'yes' : '**no**';
  return `| ${label} | ${target ?? '-'} | ${measured ? formatDuration(measured.ms) : 'not measured'} | ${met} |`;
}

function outcomeText(finished: RunFinishedData): string {
  const base = finished.outcome + (finished.failedStep && finished.outcome !== 'succeeded' ? ` at step ${code(finished.failedStep)}` : '');
  const error = finished.error && finished.outcome !== 'succeeded' ? `: ${finished.error.message}` : '';
  const checks = finished.failedChecks ? ` (${finished.failedChecks} failed check${finished.failedChecks > 1 ? 's' : ''})` : '';
  return `${base}${error}${checks} (exit ${finished.exitCode})`;
}

const formatTime = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/Z$/, ' UTC');
const formatClock = (iso: string) => iso.slice(11, 19);
const code = (text: string) => `\`${text}\``;
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
