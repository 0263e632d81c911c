import fs from 'node:fs';
import path from 'node:path';
import { LifelineError, isLifelineError, throwIfAborted } from '../../errors.js';
import type { ConnInfo } from '../../postgres/conninfo.js';
import type { Repository } from '../../storage/repository.js';
import type { ProgressCallback } from '../progress.js';
import { carryDatabase, databaseExists } from './carry.js';
import { planPitr, type PitrPlan } from './plan.js';
import { recoverCluster } from './recover.js';
import { makeScratchDir } from '../scratch.js';
import type { TargetTime } from './time.js';
import type { RecoverableWindow } from '../wal/window.js';

export type PitrMode =
  /** Leave the recovered cluster running in `dataDir` for hand-over. */
  | { kind: 'data-dir'; dataDir: string }
  /** Carry `database` of the recovered cluster into the new database `into` on `target`. */
  | { kind: 'into'; into: string; target: ConnInfo; database: string; workDir: string };

export interface PitrOptions {
  repo: Repository;
  target: TargetTime;
  /** Zone for messages (the one the target was read in). */
  zone: string;
  mode: PitrMode;
  /** Plan and check only. */
  dryRun?: boolean;
  /** A plan from a dry run moments ago (skips reading the window again). */
  plan?: PitrPlan;
  /** The repository restore_command reads (default the repository itself). */
  walRepoUrl?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export interface PitrResult {
  /** The plan this result came from (pass it back to run what a dry run showed). */
  planned: PitrPlan;
  target: { input: string; utc: string; local: string; postgres: string };
  baseBackup: string;
  window: RecoverableWindow;
  dryRun: boolean;
  plan: string[];
  /** --data-dir: the running recovered cluster. */
  dataDir?: string;
  port?: number;
  socketDir?: string;
  /** The database carried (--into) or the backup's database (--data-dir). */
  database?: string;
  /** --into: the new database on the target server. */
  into?: string;
  timeline?: number;
  stoppedBefore?: string;
  lastReplayedCommitAt?: string;
  timings?: { extractMs: number; recoverMs: number; carryMs?: number; totalMs: number };
  next: string[];
}

/**
 * Point-in-time recovery: plan against the recoverable window (refusing before anything is
 * touched), recover the chosen base backup to the target in a new data directory, prove the
 * target was reached, then hand the cluster over (--data-dir) or carry one database into a new
 * database on the target server and remove the recovered cluster (--into).
 */
export async function pointInTimeRecovery(options: PitrOptions): Promise<PitrResult> {
  const { repo, target, mode, signal } = options;
  const started = Date.now();
  const progress = options.onProgress ?? (() => undefined);
  const plan: PitrPlan = options.plan ?? (await planPitr({ repo, target, zone: options.zone, signal }));
  const steps = describePlan(plan, mode);
  if (mode.kind === 'data-dir') {
    const dir = path.resolve(mode.dataDir);
    if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
      throw new LifelineError('RESTORE_REFUSED', `${dir} exists and is not empty`, { hint: 'Name a new folder for --data-dir.' });
    }
  } else if (await databaseExists(mode.target, mode.into, signal)) {
    throw new LifelineError('RESTORE_REFUSED', `Database "${mode.into}" already exists on the target server`, { hint: 'Name a new database for --into; pitr never overwrites one.' });
  }
  const base: PitrResult = {
    planned: plan,
    target: { input: target.input, utc: target.utc, local: target.local, postgres: target.postgres },
    baseBackup: plan.backup.id,
    window: plan.window,
    dryRun: Boolean(options.dryRun),
    plan: steps,
    next: nextSteps(mode),
  };
  if (options.dryRun) return base;
  throwIfAborted(signal);

  const dataDir = mode.kind === 'data-dir' ? path.resolve(mode.dataDir) : path.join(await makeScratchDir(mode.workDir, 'pitr-'), 'data');
  const clusterDir = mode.kind === 'data-dir' ? `${dataDir}.lifeline` : path.dirname(dataDir);
  const dataDirExisted = fs.existsSync(dataDir);
  const recovered = await recoverCluster({
    repo,
    backup: plan.backup,
    clusterDir: mode.kind === 'data-dir' ? clusterDir : path.join(clusterDir, 'cluster'),
    dataDir,
    target,
    walRepoUrl: options.walRepoUrl,
    timeoutMs: options.timeoutMs,
    signal,
    onProgress: progress,
  }).catch(async (error: unknown) => {
    // A failed recovery into --data-dir is left (stopped) for inspection; an interrupted one is
    // unfinished work nobody asked to keep, and the scratch cluster of --into is never kept.
    // A damaged base backup (REPO_CORRUPT comes only from its extraction) leaves nothing worth keeping either.
    const discard = mode.kind === 'into' || signal?.aborted || (isLifelineError(error) && error.code === 'REPO_CORRUPT');
    if (discard) await fs.promises.rm(clusterDir, { recursive: true, force: true }).catch(() => undefined);
    if (discard && mode.kind === 'data-dir') await removeUnfinished(dataDir, dataDirExisted);
    throw error;
  });
  const proof = {
    timeline: recovered.timeline,
    stoppedBefore: recovered.stoppedBefore,
    lastReplayedCommitAt: recovered.lastReplayedCommitAt,
  };
  if (mode.kind === 'data-dir') {
    progress({ phase: 'done', message: `recovered to ${target.utc}; the cluster runs on port ${recovered.cluster.port}` });
    return {
      ...base,
      ...proof,
      next: nextSteps(mode, { timeline: recovered.timeline, dataDir, repo: repo.location }),
      dataDir,
      port: recovered.cluster.port,
      socketDir: recovered.cluster.socketDir,
      database: plan.backup.database,
      timings: { ...recovered.timings, totalMs: Date.now() - started },
    };
  }
  const carryStarted = Date.now();
  try {
    await carryDatabase({
      source: recovered.cluster.conn(mode.database),
      target: mode.target,
      into: mode.into,
      major: recovered.cluster.major,
      signal,
      onProgress: progress,
    });
  } finally {
    await recovered.cluster.destroy().catch(() => undefined);
    await fs.promises.rm(clusterDir, { recursive: true, force: true }).catch(() => undefined);
  }
  progress({ phase: 'done', message: `"${mode.database}" as of ${target.utc} is now database "${mode.into}"` });
  return {
    ...base,
    ...proof,
    database: mode.database,
    into: mode.into,
    timings: { ...recovered.timings, carryMs: Date.now() - carryStarted, totalMs: Date.now() - started },
  };
}

/** Removes an interrupted recovery's data directory (only its content when the folder was there before). */
async function removeUnfinished(dataDir: string, existed: boolean): Promise<void> {
  if (!existed) return fs.promises.rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
  for (const entry of await fs.promises.readdir(dataDir).catch(() => [] as string[])) {
    await fs.promises.rm(path.join(dataDir, entry), { recursive: true, force: true }).catch(() => undefined);
  }
}

function describePlan(plan: PitrPlan, mode: PitrMode): string[] {
  const where = mode.kind === 'data-dir' ? `a new data directory ${path.resolve(mode.dataDir)}` : 'a temporary data directory';
  return [
    `extract base backup ${plan.backup.id} (ended ${plan.backup.finishedAt}, timeline ${plan.backup.timeline}) into ${where}`,
    `recover with restore_command = lifeline wal-fetch, recovery_target_time = '${plan.target.postgres}', promote at the target, archive_mode = off`,
    'wait until recovery ends, prove the target was reached (server log, last replayed commit)',
    mode.kind === 'data-dir'
      ? 'leave the recovered cluster running for hand-over'
      : `create database "${mode.into}" on the target server, carry "${mode.database}" into it (pg_dump | pg_restore), then stop and remove the recovered cluster`,
  ];
}

function nextSteps(mode: PitrMode, recovered?: { timeline: number; dataDir: string; repo: string }): string[] {
  const steps = [
    'The recovered data is on a NEW timeline with archiving off. If this cluster is to serve, turn archiving back on (lifeline archiving setup --apply, restart) and take a fresh base backup (lifeline backup --physical): older base backups and WAL do not cover its new timeline.',
  ];
  if (recovered) {
    // PostgreSQL archives a timeline's history file when it is made; archiving was off then.
    const history = path.join(recovered.dataDir, 'pg_wal', `${recovered.timeline.toString(16).toUpperCase().padStart(8, '0')}.history`);
    steps.push(`With archiving on, archive the new timeline's history file too, so later recoveries can follow the switch: lifeline wal-push --repo ${recovered.repo} ${history}`);
  }
  if (mode.kind === 'into') {
    steps[0] = `Check the data in "${mode.into}", then point the application at it (or copy what you need). The source server kept archiving throughout; take a fresh base backup once you swap data in.`;
  }
  return steps;
}
