import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LifelineError, abortError, isLifelineError, throwIfAborted } from '../../errors.js';
import { createCluster, type Cluster, type Settings } from '../../postgres/cluster.js';
import { connect } from '../../postgres/client.js';
import { chownToServerUser } from '../../postgres/server-user.js';
import { formatKeyring } from '../../storage/crypto/keys.js';
import type { Manifest } from '../../storage/manifest.js';
import type { Repository } from '../../storage/repository.js';
import type { ProgressCallback } from '../progress.js';
import { restoreCommand } from '../wal/command.js';
import { stopPrefetchers } from '../wal/spool.js';
import { extractBaseBackup } from './extract-base.js';
import { warmSpool } from './warm-spool.js';
import type { TargetTime } from './time.js';

export interface RecoverOptions {
  repo: Repository;
  backup: Manifest;
  /** Holds cluster.json, log/ and (when short enough) the socket folder. */
  clusterDir: string;
  /** The new data directory: must not exist, or be empty. */
  dataDir: string;
  /** A target time, or "immediate" (stop as soon as consistent: the verify ladder's restore level). */
  target: TargetTime | 'immediate';
  /** The repository restore_command reads (default the repository's own location). */
  walRepoUrl?: string;
  /** Gives up waiting for recovery after this long (default 1 h). */
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export interface RecoveredCluster {
  cluster: Cluster;
  /** The timeline the recovered cluster continues on after promotion. */
  timeline: number;
  /** Time of the first transaction end recovery did NOT replay (the proof the target was met). */
  stoppedBefore?: string;
  /** Time of the last replayed commit. */
  lastReplayedCommitAt?: string;
  timings: { extractMs: number; recoverMs: number };
}

/**
 * Lays out a base backup as a new data directory and recovers it: recovery.signal, restore_command
 * through `lifeline wal-fetch`, the target with an explicit offset, promote at the target, and
 * archive_mode off (the copy must never write its new timeline into the production archive).
 * pg_ctl returns as soon as hot standby accepts connections, long before the target: we poll
 * pg_is_in_recovery() and then prove from the server log that recovery stopped AT the target,
 * not because the WAL ran out. On failure the server is stopped; the files are left for
 * inspection and the error names the log.
 */
export async function recoverCluster(options: RecoverOptions): Promise<RecoveredCluster> {
  const { repo, backup, signal } = options;
  const progress = options.onProgress ?? (() => undefined);
  const dataDir = path.resolve(options.dataDir);
  repo.assertCanDecrypt(backup);
  if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0) {
    throw new LifelineError('RESTORE_REFUSED', `${dataDir} exists and is not empty`, { hint: 'Name a new folder for the recovered cluster.' });
  }
  const extractStarted = Date.now();
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  progress({ phase: 'extract', message: `extracting base backup ${backup.id} into ${dataDir}` });
  await extractBaseBackup(repo, backup, dataDir, signal).catch((error: unknown) => {
    // A half-extracted data directory is of no use to anyone: leave the folder as it was, empty.
    for (const entry of fs.readdirSync(dataDir)) fs.rmSync(path.join(dataDir, entry), { recursive: true, force: true });
    throw error;
  });
  for (const file of ['postgresql.conf', 'pg_ident.conf']) {
    // Debian keeps these in /etc/postgresql: the base backup has none, the server needs them.
    if (!fs.existsSync(path.join(dataDir, file))) fs.writeFileSync(path.join(dataDir, file), '', { mode: 0o600 });
  }
  fs.writeFileSync(path.join(dataDir, 'recovery.signal'), '', { mode: 0o600 });
  const extractMs = Date.now() - extractStarted;

  // restore_command runs as the server's user without our environment: the keys reach it in a
  // private keyring file that lives only as long as the recovery.
  const keyringFile = repo.keyring.keys.length ? path.join(path.resolve(options.clusterDir), 'wal-keyring') : undefined;
  const walRepo = options.walRepoUrl ?? repo.location;
  const command = restoreCommand({ repo: walRepo, keyringFile });
  const settings: Settings =
    options.target === 'immediate'
      ? { recovery_target: 'immediate' }
      : { recovery_target_time: options.target.postgres, recovery_target_inclusive: true };
  const cluster = await createCluster({
    dir: options.clusterDir,
    adoptDataDir: dataDir,
    hba: 'lifeline',
    start: false,
    signal,
    settings: {
      restore_command: command,
      ...settings,
      recovery_target_action: 'promote',
      recovery_target_timeline: 'latest',
      archive_mode: 'off',
      hot_standby: 'on',
    },
  });
  await chownToServerUser(path.join(dataDir, 'recovery.signal'));
  if (keyringFile) {
    fs.writeFileSync(keyringFile, formatKeyring(repo.keyring.keys), { mode: 0o600 });
    await chownToServerUser(keyringFile);
  }
  let warm: { stop(): Promise<void> } | undefined;
  try {
    const firstSegment = String(backup.extra?.startWalFile ?? '');
    if (/^[0-9A-F]{24}$/.test(firstSegment)) {
      const ownRepository = walRepo === repo.location;
      warm = await warmSpool({ dataDir, walRepo, keys: { keyringFile }, firstSegment, signal, ...(ownRepository ? { store: repo.store, keyring: repo.keyring } : {}) });
    }
    const recoverStarted = Date.now();
    const timeoutMs = options.timeoutMs ?? 3600_000;
    progress({ phase: 'recover', message: `starting recovery on port ${cluster.port} (restore_command: lifeline wal-fetch)` });
    try {
      try {
        await cluster.start({ signal, timeoutSeconds: Math.ceil(timeoutMs / 1000) });
      } catch (error) {
        if (!isLifelineError(error) || error.code !== 'SANDBOX') throw error;
        throw recoveryFailure(cluster, options.target);
      }
      const timeline = await waitForPromotion(cluster, options.target, recoverStarted + timeoutMs, signal, progress);
      const proof = await proveTarget(cluster, dataDir, options.target);
      return { cluster, timeline, ...proof, timings: { extractMs, recoverMs: Date.now() - recoverStarted } };
    } catch (error) {
      await cluster.stop({ mode: 'immediate' }).catch(() => undefined);
      throw error;
    }
  } finally {
    if (keyringFile) fs.rmSync(keyringFile, { force: true });
    // WAL that wal-fetch read ahead and recovery did not need.
    await warm?.stop();
    await stopPrefetchers(dataDir);
  }
}

async function waitForPromotion(
  cluster: Cluster,
  target: TargetTime | 'immediate',
  deadline: number,
  signal: AbortSignal | undefined,
  progress: ProgressCallback,
): Promise<number> {
  let lastNote = 0;
  for (;;) {
    throwIfAborted(signal);
    if (!(await cluster.isRunning())) throw recoveryFailure(cluster, target);
    try {
      const client = await connect(cluster.conn('postgres'), { signal, connectTimeoutMs: 5000 });
      try {
        const { rows } = await client.query<{ recovering: boolean; replayed: Date | null; timeline: number }>(
          'SELECT pg_is_in_recovery() AS recovering, pg_last_xact_replay_timestamp() AS replayed, (pg_control_checkpoint()).timeline_id AS timeline',
        );
        const row = rows[0];
        if (!row.recovering) {
          // The checkpoint's timeline lags right after promotion: ask the control file again.
          const { rows: tl } = await client.query<{ timeline: number }>('SELECT timeline_id AS timeline FROM pg_control_checkpoint()');
          return Math.max(tl[0]?.timeline ?? row.timeline, row.timeline);
        }
        if (Date.now() - lastNote > 5000) {
          lastNote = Date.now();
          progress({ phase: 'recover', message: `replaying WAL (last replayed commit ${row.replayed?.toISOString() ?? 'none yet'})` });
        }
      } finally {
        await client.end().catch(() => undefined);
      }
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      if (!isLifelineError(error) || !['DB_UNREACHABLE', 'DB_AUTH', 'DB_QUERY'].includes(error.code)) throw error;
      // A server shutting down (FATAL in recovery) refuses connections: the next loop sees it gone.
    }
    if (Date.now() > deadline) {
      throw new LifelineError('PITR_FAILED', `Recovery did not finish in time (server log: ${cluster.logFile})`, {
        hint: 'The recovered cluster was stopped; a long WAL replay needs a longer --timeout.',
      });
    }
    await sleep(100, undefined, { signal }).catch(() => {
      throw abortError(signal);
    });
  }
}

async function proveTarget(cluster: Cluster, dataDir: string, target: TargetTime | 'immediate'): Promise<{ stoppedBefore?: string; lastReplayedCommitAt?: string }> {
  const log = readLog(cluster);
  if (/recovery ended before configured recovery target was reached/.test(log)) throw recoveryFailure(cluster, target);
  if (fs.existsSync(path.join(dataDir, 'recovery.signal'))) {
    throw new LifelineError('PITR_FAILED', `The server left recovery but recovery.signal is still in ${dataDir}`, { hint: `See ${cluster.logFile}.` });
  }
  const client = await connect(cluster.conn('postgres'));
  let lastReplayedCommitAt: string | undefined;
  try {
    const { rows } = await client.query<{ replayed: Date | null }>('SELECT pg_last_xact_replay_timestamp() AS replayed');
    lastReplayedCommitAt = rows[0]?.replayed?.toISOString();
  } finally {
    await client.end().catch(() => undefined);
  }
  if (target === 'immediate') {
    if (!/recovery stopping after reaching consistency/.test(log)) {
      throw new LifelineError('PITR_FAILED', 'Recovery did not stop at the consistent point', { hint: `See ${cluster.logFile}.` });
    }
    return { lastReplayedCommitAt };
  }
  const stop = /recovery stopping before (?:commit|abort) of transaction \d+, time (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?[+-]\d\d(?::?\d\d)?)/.exec(log);
  if (!stop) {
    throw new LifelineError('PITR_FAILED', `Recovery left no "recovery stopping before ..." line: the target ${target.utc} was not proven reached`, {
      hint: `See ${cluster.logFile}; the recovered cluster was stopped.`,
    });
  }
  const stoppedBefore = new Date(stop[1].replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')).toISOString();
  if (Date.parse(stoppedBefore) <= target.at.getTime()) {
    throw new LifelineError('PITR_FAILED', `Recovery stopped before a commit at ${stoppedBefore}, which is not after the target ${target.utc}`);
  }
  if (lastReplayedCommitAt && Date.parse(lastReplayedCommitAt) > target.at.getTime() + 1) {
    throw new LifelineError('PITR_FAILED', `The last replayed commit (${lastReplayedCommitAt}) is after the target ${target.utc}`);
  }
  return { stoppedBefore, lastReplayedCommitAt };
}

function readLog(cluster: Cluster): string {
  try {
    return fs.readFileSync(cluster.logFile, 'utf8');
  } catch {
    return '';
  }
}

/** Turns what the server log says about a failed recovery into one clear error. */
export function recoveryFailure(cluster: Cluster, target: TargetTime | 'immediate'): LifelineError {
  const log = readLog(cluster);
  const lines = log.split('\n');
  const where = `server log: ${cluster.logFile}`;
  if (/recovery ended before configured recovery target was reached/.test(log)) {
    return new LifelineError(
      'PITR_FAILED',
      `Recovery replayed all archived WAL without reaching ${target === 'immediate' ? 'consistency' : target.utc}: the archive ends (or has a gap) before the target; nothing was promoted`,
      { hint: `Check \`lifeline list\` for the window and gaps (${where}).` },
    );
  }
  const restoreFailed = lines.find((line) => /could not restore file .* from archive/.test(line));
  if (restoreFailed) {
    const ours = lines.filter((line) => line.startsWith('error: ')).pop()?.slice(7);
    return new LifelineError(
      'PITR_FAILED',
      `restore_command (lifeline wal-fetch) failed and PostgreSQL stopped recovery instead of promoting: ${ours ?? restoreFailed.replace(/^.*?(FATAL|LOG):\s*/, '')}`,
      { hint: `Fix the repository (or its access) and run pitr again into a new folder (${where}).` },
    );
  }
  if (/requested recovery stop point is before consistent recovery point/.test(log)) {
    return new LifelineError('PITR_FAILED', 'The target lies before the base backup became consistent', { hint: `Pick a later time (${where}).` });
  }
  const fatal = lines.filter((line) => /FATAL|PANIC/.test(line)).pop();
  return new LifelineError('PITR_FAILED', `The recovering server stopped: ${fatal?.replace(/^.*?(FATAL|PANIC):\s*/, '') ?? 'no FATAL line in its log'}`, {
    hint: where,
  });
}
