import { Cron } from 'croner';
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { AuditLog } from '../../audit/log.js';
import { writeFileAtomic, ensureDir } from '../../fs-util.js';
import { newRunId } from '../../runbook/run-state.js';
import type { RunEvent } from '../../runbook/events.js';
import { missedSince, type Job, type JobName } from './schedule.js';

export interface AgentOptions {
  jobs: Job[];
  /** How to start lifeline itself: [node, bin/lifeline.js, ...global flags]. */
  command: string[];
  /** <state>/agent.json: when each job last started. */
  stateFile: string;
  auditDir: string;
  operator: string;
  host: string;
  /** Aborted on SIGTERM/SIGINT: no new job starts; the running one finishes. */
  signal: AbortSignal;
  onNote: (text: string) => void;
  env?: NodeJS.ProcessEnv;
}

type AgentState = { lastRun: Partial<Record<JobName, string>> };

/**
 * Runs the policy's schedule in the foreground, one job at a time. A job due while another runs
 * waits its turn (and is queued once, however many slots pass); a slot missed while the agent was
 * not running runs once at start. Each job has its own audit trail.
 */
export async function runAgent(options: AgentOptions): Promise<void> {
  const state = readState(options.stateFile);
  const now = new Date();
  const queue: Job[] = [];
  let running: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  const enqueue = (job: Job, why: string) => {
    if (options.signal.aborted || queue.includes(job)) return;
    options.onNote(`${job.name}: due (${why})`);
    queue.push(job);
    wake?.();
  };
  for (const job of options.jobs) {
    const last = state.lastRun[job.name] ? new Date(state.lastRun[job.name]!) : undefined;
    if (missedSince(job, last, now)) enqueue(job, `missed since ${last!.toISOString()}`);
    else if (!last) state.lastRun[job.name] = now.toISOString(); // first start: nothing was missed
  }
  saveState(options.stateFile, state);
  const crons = options.jobs.map((job) => new Cron(job.cron, { protect: false }, () => enqueue(job, 'scheduled')));
  options.onNote(`agent running ${options.jobs.length} job(s): ${options.jobs.map((j) => `${j.name} next ${crons[options.jobs.indexOf(j)].nextRun()?.toISOString() ?? 'never'}`).join(', ')}`);

  const stopped = new Promise<void>((resolve) => {
    if (options.signal.aborted) resolve();
    options.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  try {
    while (!options.signal.aborted) {
      const job = queue.shift();
      if (!job) {
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), stopped]);
        wake = undefined;
        continue;
      }
      state.lastRun[job.name] = new Date().toISOString();
      saveState(options.stateFile, state);
      running = runJob(job, options);
      await running;
      running = undefined;
    }
  } finally {
    for (const cron of crons) cron.stop();
    await running;
  }
}

async function runJob(job: Job, options: AgentOptions): Promise<void> {
  const [file, ...prefix] = options.command;
  const started = Date.now();
  // The drill writes its own runbook audit trail; other jobs get one written here.
  const audit = job.name === 'drill' ? undefined : await openJobAudit(job, options);
  const event = async (kind: RunEvent['kind'], data: unknown) =>
    audit?.log.append({ kind, runId: audit.runId, time: new Date().toISOString(), step: job.name, data } as RunEvent);
  await event('run-started', {
    runbook: { id: `agent-${job.name}`, title: job.description, kind: 'routine', file: 'lifeline agent', sha256: '', targets: {} },
    params: {},
    paramTypes: {},
    target: {},
    contacts: [],
    dryRun: false,
    startedAt: new Date(started).toISOString(),
    command: ['lifeline', ...job.args],
  });
  options.onNote(`${job.name}: starting lifeline ${job.args.join(' ')}`);
  // The child does not share our signals: SIGTERM to the agent lets the job finish cleanly.
  const child = execa(file, [...prefix, ...job.args], { reject: false, all: true, buffer: false, env: options.env, detached: true, stdin: 'ignore' });
  const lines: Promise<void>[] = [];
  readline.createInterface({ input: child.all! }).on('line', (line) => {
    options.onNote(`${job.name}: ${line}`);
    lines.push(event('output-line', { stream: 'stdout', line }).then(() => undefined));
  });
  const result = await child;
  await Promise.all(lines);
  const ok = result.exitCode === 0 || result.exitCode === 3;
  options.onNote(`${job.name}: finished with exit ${result.exitCode}`);
  await event('run-finished', {
    outcome: ok ? (result.exitCode === 3 ? 'skipped-steps' : 'succeeded') : 'failed',
    exitCode: result.exitCode ?? 1,
    durationMs: Date.now() - started,
    skipped: [],
    failedChecks: 0,
    measurements: {},
  });
  await audit?.log.close();
}

async function openJobAudit(job: Job, options: AgentOptions) {
  const runId = newRunId(`agent-${job.name}`);
  const log = await AuditLog.open({ dir: options.auditDir, runId, runbook: `agent-${job.name}`, operator: options.operator, host: options.host });
  return { runId, log };
}

function readState(file: string): AgentState {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as AgentState;
  } catch {
    return { lastRun: {} };
  }
}

function saveState(file: string, state: AgentState): void {
  ensureDir(path.dirname(file));
  writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
}
