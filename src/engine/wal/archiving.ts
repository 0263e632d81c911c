import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'pg';
import { LifelineError, abortError, throwIfAborted } from '../../errors.js';
import { connect } from '../../postgres/client.js';
import type { ConnInfo } from '../../postgres/conninfo.js';
import { chownToServerUser, ensureTraversable, serverUser } from '../../postgres/server-user.js';
import type { Store } from '../../storage/store.js';
import type { ProgressCallback } from '../progress.js';
import { REPOSITORY_INFO_KEY, ensureRepository, findWalObject } from './archive-store.js';
import { archiveCommand, type CommandKeys } from './command.js';
import { quoteLiteral } from '../backup/fingerprint.js';
import { parseWalName } from './names.js';

export interface ArchivingSetting {
  name: 'wal_level' | 'archive_mode' | 'archive_command' | 'archive_timeout';
  current: string;
  wanted: string;
  ok: boolean;
  /** Changing it takes a server restart (not just a reload). */
  restart: boolean;
}

export interface ArchiverStats {
  archivedCount: number;
  lastArchivedWal: string | null;
  lastArchivedTime: string | null;
  failedCount: number;
  lastFailedWal: string | null;
  lastFailedTime: string | null;
}

export interface ArchivingState {
  settings: ArchivingSetting[];
  stats: ArchiverStats;
  /** All settings as wanted. */
  ok: boolean;
}

export interface ArchivingPlan extends CommandKeys {
  repo: string;
  /** A --compress value for wal-push (zstd, zstd:3, lz4, gzip:6, none), already checked. */
  compression?: string;
  /** Seconds; bounds how old the newest archived commit can get on a quiet server (default 60). */
  archiveTimeout?: number;
}

/** What archive_command and friends should be, and what they are. */
export async function archivingState(conn: ConnInfo, plan: ArchivingPlan, options: { signal?: AbortSignal } = {}): Promise<ArchivingState> {
  const client = await connect(conn, { signal: options.signal });
  try {
    return await readState(client, plan);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function readState(client: Client, plan: ArchivingPlan): Promise<ArchivingState> {
  const { rows } = await client.query<{ name: string; setting: string }>(
    "SELECT name, setting FROM pg_settings WHERE name IN ('wal_level', 'archive_mode', 'archive_command', 'archive_timeout')",
  );
  const current = Object.fromEntries(rows.map((r) => [r.name, r.setting]));
  const command = archiveCommand(plan);
  const timeout = String(plan.archiveTimeout ?? 60);
  const settings: ArchivingSetting[] = [
    { name: 'wal_level', current: current.wal_level ?? '', wanted: 'replica', ok: ['replica', 'logical'].includes(current.wal_level ?? ''), restart: true },
    { name: 'archive_mode', current: current.archive_mode ?? '', wanted: 'on', ok: ['on', 'always'].includes(current.archive_mode ?? ''), restart: true },
    { name: 'archive_command', current: current.archive_command ?? '', wanted: command, ok: current.archive_command === command, restart: false },
    {
      name: 'archive_timeout',
      current: current.archive_timeout ?? '0',
      wanted: timeout,
      ok: Number(current.archive_timeout ?? 0) > 0 && Number(current.archive_timeout) <= Number(timeout),
      restart: false,
    },
  ];
  const stats = await client.query<{
    archived_count: string;
    last_archived_wal: string | null;
    last_archived_time: Date | null;
    failed_count: string;
    last_failed_wal: string | null;
    last_failed_time: Date | null;
  }>('SELECT archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal, last_failed_time FROM pg_stat_archiver');
  const s = stats.rows[0];
  return {
    settings,
    ok: settings.every((x) => x.ok),
    stats: {
      archivedCount: Number(s?.archived_count ?? 0),
      lastArchivedWal: s?.last_archived_wal ?? null,
      lastArchivedTime: s?.last_archived_time?.toISOString() ?? null,
      failedCount: Number(s?.failed_count ?? 0),
      lastFailedWal: s?.last_failed_wal ?? null,
      lastFailedTime: s?.last_failed_time?.toISOString() ?? null,
    },
  };
}

/**
 * ALTER SYSTEM for every setting that differs, then a reload. wal_level and archive_mode only
 * take effect after a restart: the result says whether one is needed.
 */
export async function applyArchiving(conn: ConnInfo, plan: ArchivingPlan, options: { signal?: AbortSignal } = {}): Promise<{ changed: ArchivingSetting[]; restartNeeded: boolean }> {
  const client = await connect(conn, { signal: options.signal });
  try {
    const state = await readState(client, plan);
    const changed = state.settings.filter((s) => !s.ok);
    for (const setting of changed) {
      try {
        await client.query(`ALTER SYSTEM SET ${setting.name} = ${quoteLiteral(setting.wanted)}`);
      } catch (error) {
        throw new LifelineError('DB_PRIVILEGE', `ALTER SYSTEM SET ${setting.name} failed: ${(error as Error).message}`, {
          hint: 'Run it as a superuser, or set the values in postgresql.conf by hand (lifeline archiving setup shows them).',
        });
      }
    }
    if (changed.length) await client.query('SELECT pg_reload_conf()');
    return { changed, restartNeeded: changed.some((s) => s.restart) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * When lifeline runs as root and the repository is a local folder, archive_command and
 * restore_command still run as the server's OS user: give it the repository's root, lifeline.json
 * and wal/ (backups/ may stay ours). Returns what was changed, for the operator.
 */
export async function shareRepositoryWithServer(store: Store, repoDir: string): Promise<string[]> {
  const user = await serverUser();
  if (!user.switched || !path.isAbsolute(repoDir)) return [];
  await ensureRepository(store);
  const walDir = path.join(repoDir, 'wal');
  await fs.mkdir(walDir, { recursive: true, mode: 0o700 });
  await chownToServerUser(repoDir);
  await chownToServerUser(path.join(repoDir, REPOSITORY_INFO_KEY));
  await chownToServerUser(walDir, { recursive: true });
  // The server user must also pass through the folders above (o+x, only on folders we own).
  const opened = await ensureTraversable(path.dirname(repoDir));
  return [repoDir, walDir, ...opened.map((dir) => `${dir} (o+x)`)];
}

export interface ArchiveCheckResult {
  /** The segment switched to and waited for. */
  segment: string;
  key: string;
  waitedMs: number;
}

/**
 * Proves archiving end to end: switch to a new WAL segment and wait for the finished one to
 * arrive in the repository. Fails with what pg_stat_archiver says when archive_command fails.
 */
export async function checkArchiving(options: {
  conn: ConnInfo;
  store: Store;
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}): Promise<ArchiveCheckResult> {
  const { store, signal } = options;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const client = await connect(options.conn, { signal });
  try {
    const settings = await client.query<{ name: string; setting: string }>(
      "SELECT name, setting FROM pg_settings WHERE name IN ('wal_level', 'archive_mode', 'archive_command')",
    );
    const s = Object.fromEntries(settings.rows.map((r) => [r.name, r.setting]));
    if (!['on', 'always'].includes(s.archive_mode ?? '') || !['replica', 'logical'].includes(s.wal_level ?? '') || !s.archive_command) {
      throw new LifelineError(
        'ARCHIVING_BROKEN',
        `WAL archiving is not on (wal_level=${s.wal_level}, archive_mode=${s.archive_mode}, archive_command=${s.archive_command ? 'set' : 'empty'})`,
        { hint: 'Run `lifeline archiving setup --apply`, restart PostgreSQL, then `lifeline archiving check`.' },
      );
    }
    const before = await client.query<{ failed_count: string }>('SELECT failed_count FROM pg_stat_archiver');
    const failedBefore = Number(before.rows[0]?.failed_count ?? 0);
    // A committed transaction first (a commit record), so the switch always finishes a fresh
    // segment instead of naming one archived long ago.
    await client.query('SELECT txid_current()');
    const switched = await client.query<{ file: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS file');
    const segment = switched.rows[0].file;
    const parsed = parseWalName(segment)!;
    options.onProgress?.({ phase: 'archive-check', message: `switched WAL; waiting for ${segment} to arrive in ${store.location}` });
    const started = Date.now();
    for (;;) {
      throwIfAborted(signal);
      const found = await findWalObject(store, parsed);
      if (found) return { segment, key: found.key, waitedMs: Date.now() - started };
      const stats = await client.query<{ failed_count: string; last_failed_wal: string | null }>('SELECT failed_count, last_failed_wal FROM pg_stat_archiver');
      const failed = Number(stats.rows[0]?.failed_count ?? 0);
      if (failed > failedBefore + 1 && Date.now() - started > 2000) {
        throw new LifelineError('ARCHIVING_BROKEN', `archive_command keeps failing (${failed - failedBefore} failures since the check began, last for ${stats.rows[0]?.last_failed_wal})`, {
          hint: "The server log has archive_command's own error. Check that the server's OS user can write to the repository.",
        });
      }
      if (Date.now() - started > timeoutMs) {
        throw new LifelineError('ARCHIVING_BROKEN', `${segment} did not arrive in ${store.location} within ${Math.round(timeoutMs / 1000)} s`, {
          hint: 'Check archive_command (lifeline archiving setup shows the expected one) and the server log; the archiver may also be far behind.',
        });
      }
      await sleep(150, undefined, { signal }).catch(() => {
        throw abortError(signal);
      });
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}
