import { execa } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifelineError, abortError, throwIfAborted } from '../../errors.js';
import type { Compression } from '../compress/spec.js';
import { toolEnv, type ConnInfo } from '../../postgres/conninfo.js';
import { connect } from '../../postgres/client.js';
import { serverFacts } from '../../postgres/facts.js';
import { findTool } from '../../postgres/tools.js';
import type { Repository } from '../../storage/repository.js';
import type { BackupLabel, Manifest } from '../../storage/manifest.js';
import { compressor } from '../compress/codec.js';
import { throttle, type ProgressCallback } from '../progress.js';
import { hostName } from '../operator.js';
import { checkArchiving } from '../wal/archiving.js';
import { findWalObject } from '../wal/archive-store.js';
import { lsnSegment, segmentName } from '../wal/names.js';
import { completionGuard, stderrTail, storeFromProducer } from './guard.js';
import { TarPeek } from './tar-peek.js';
import { compressionRecord } from './compression-record.js';

export interface PhysicalBackupOptions {
  conn: ConnInfo;
  repo: Repository;
  label: BackupLabel;
  reason?: string;
  operator: string;
  compression: Compression;
  compressionLevel?: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  lockWaitMs?: number;
  /** How long to wait for archiving (the pre-check and the backup's own WAL), default 60 s. */
  archiveTimeoutMs?: number;
}

export interface PhysicalBackupResult {
  manifest: Manifest;
}

/** Object names of a base backup. */
export const BASE_TAR = 'base.tar';
export const PG_MANIFEST = 'backup_manifest';

/**
 * A base backup for point-in-time recovery: `pg_basebackup -D - -Ft -X none -c fast` streamed
 * through compression into the repository. -X none: the WAL the backup needs comes from the
 * archive, so archiving is proven first (a switched segment must arrive), and the backup is
 * recorded only once its start..stop WAL is in the repository. PostgreSQL's backup_manifest is
 * captured from the stream and kept as its own object too.
 */
export async function physicalBackup(options: PhysicalBackupOptions): Promise<PhysicalBackupResult> {
  const { conn, repo, signal } = options;
  const progress = throttle(options.onProgress);
  const archiveTimeoutMs = options.archiveTimeoutMs ?? 60_000;
  const startedAt = new Date();
  // Before any work: an encrypted repository refuses a run without its key.
  await repo.prepareDataWrites();
  progress({ phase: 'connect', message: 'connecting to the database' });
  const client = await connect(conn, { signal });
  let facts;
  let segmentSize: number;
  try {
    facts = await serverFacts(client);
    const { rows } = await client.query<{ bytes: string }>("SELECT setting::bigint * (CASE unit WHEN '8kB' THEN 8192 WHEN 'MB' THEN 1048576 ELSE 1 END) AS bytes FROM pg_settings WHERE name = 'wal_segment_size'");
    segmentSize = Number(rows[0]?.bytes ?? 16 * 1024 * 1024);
    if (facts.inRecovery) {
      throw new LifelineError('BACKUP_FAILED', 'The server is in recovery (a standby); take base backups from the primary.', {
        hint: 'Point --db at the primary.',
      });
    }
  } finally {
    await client.end().catch(() => undefined);
  }

  progress({ phase: 'archive-check', message: 'checking that WAL archiving works (switching WAL, waiting for the segment)' });
  try {
    await checkArchiving({ conn, store: repo.store, timeoutMs: archiveTimeoutMs, signal, onProgress: options.onProgress });
  } catch (error) {
    if (error instanceof LifelineError && error.code === 'ARCHIVING_BROKEN') {
      throw new LifelineError('ARCHIVING_BROKEN', `No base backup taken: ${error.message}`, {
        hint: `A base backup without its WAL cannot be restored. ${error.hint ?? ''}`.trim(),
      });
    }
    throw error;
  }

  const pgBasebackup = await findTool('pg_basebackup', { major: facts.major });
  const codec = compressor(options.compression, options.compressionLevel);
  await repo.initialize();
  const release = await repo.acquireLock({
    command: `lifeline backup --physical (${options.label})`,
    wait: options.lockWaitMs,
    signal,
    onWaiting: (holder) => progress({ phase: 'lock', message: `waiting for ${holder.command} (pid ${holder.pid}) to release the repository` }),
  });
  let reserved: string | undefined;
  let complete = false;
  try {
    const id = await repo.reserveBackupId({ label: options.label, time: startedAt, signal });
    reserved = id;
    const objectName = `${BASE_TAR}${codec.extension}`;
    progress({ phase: 'basebackup', bytes: 0, totalBytes: facts.sizeBytes, message: `backup ${id}: pg_basebackup of ${describeServer(conn)}` });
    const child = execa(
      pgBasebackup.path,
      ['-D', '-', '-Ft', '-X', 'none', '-c', 'fast', '--no-password', '-l', `lifeline ${id}`],
      { env: toolEnv(conn), extendEnv: false, stdout: 'pipe', stderr: 'pipe', buffer: false, cancelSignal: signal, reject: false, stdin: 'ignore' },
    );
    const tail = stderrTail(child.stderr!);
    const peek = new TarPeek(['backup_label', PG_MANIFEST]);
    const { stream: compress, done: compressDone } = codec.create(signal);
    let plainBytes: number | undefined;
    const guard = completionGuard({
      onBytes: (stored) => progress({ phase: 'basebackup', bytes: stored, totalBytes: facts.sizeBytes }),
      settle: async () => {
        const [result, stats] = await Promise.all([child, compressDone]);
        plainBytes = stats.plainBytes;
        return result.exitCode === 0 && !signal?.aborted ? null : basebackupError(result, tail, signal);
      },
    });
    const piping = pipeline(child.stdout as Readable, peek, compress, guard).catch((error: unknown) => guard.destroy(error as Error));
    // The cluster as tar, with room for what grows while it is copied.
    const put = await storeFromProducer({ repo, id, name: objectName, body: guard, producer: child, piping, signal, sizeHint: 2 * facts.sizeBytes });
    const finishedBackupAt = new Date();

    const label = peek.captured.get('backup_label')?.toString('utf8');
    const pgManifest = peek.captured.get(PG_MANIFEST);
    if (!label || !pgManifest) {
      throw new LifelineError('BACKUP_FAILED', `pg_basebackup's tar has no ${label ? PG_MANIFEST : 'backup_label'}`, {
        hint: 'Use pg_basebackup 13 or newer, and do not disable its manifest.',
      });
    }
    const start = /START WAL LOCATION: ([0-9A-F]+\/[0-9A-F]+)/i.exec(label)?.[1];
    const timeline = Number(/START TIMELINE: (\d+)/.exec(label)?.[1] ?? /\(file ([0-9A-F]{8})/.exec(label)?.[1]);
    const ranges = (JSON.parse(pgManifest.toString('utf8')) as { 'WAL-Ranges'?: { Timeline: number; 'Start-LSN': string; 'End-LSN': string }[] })['WAL-Ranges'] ?? [];
    const stop = ranges.at(-1)?.['End-LSN'];
    if (!start || !stop || !timeline) throw new LifelineError('BACKUP_FAILED', 'Cannot read the backup\'s WAL range from backup_label / backup_manifest.');
    const manifestPut = await repo.putBackupObject(id, PG_MANIFEST, pgManifest, { signal });

    // The server waited for its stop segment to be archived; make sure every segment from start
    // to stop is in THIS repository before recording the backup.
    const firstSegment = lsnSegment(start, segmentSize);
    const lastSegment = lsnSegment(stop, segmentSize);
    progress({ phase: 'wal', message: `waiting for WAL ${segmentName(timeline, firstSegment, segmentSize)}..${segmentName(timeline, lastSegment, segmentSize)} in the repository` });
    await waitForSegments(repo, timeline, firstSegment, lastSegment, segmentSize, archiveTimeoutMs, signal);

    const manifest: Manifest = {
      formatVersion: 1,
      id,
      kind: 'base',
      label: options.label,
      ...(options.reason ? { reason: options.reason } : {}),
      operator: options.operator,
      host: hostName(),
      startedAt: startedAt.toISOString(),
      finishedAt: finishedBackupAt.toISOString(),
      snapshotAt: finishedBackupAt.toISOString(),
      database: facts.database,
      serverVersion: facts.version,
      serverVersionNum: facts.versionNum,
      toolVersions: { pg_basebackup: pgBasebackup.version.text },
      systemIdentifier: facts.systemIdentifier,
      timeline,
      startLsn: start,
      stopLsn: stop,
      compression: compressionRecord(codec, { objects: [{ name: objectName, size: put.size, sha256: put.sha256 }], plainBytes }),
      ...(repo.encryption ? { encryption: repo.encryption } : {}),
      objects: [
        { name: objectName, size: put.size, sha256: put.sha256, ...(plainBytes === undefined ? {} : { plainSize: plainBytes }) },
        { name: PG_MANIFEST, size: manifestPut.size, sha256: manifestPut.sha256 },
      ],
      extra: {
        format: 'tar',
        walSegmentSize: segmentSize,
        startWalFile: segmentName(timeline, firstSegment, segmentSize),
        stopWalFile: segmentName(timeline, lastSegment, segmentSize),
        backupLabel: label,
        clusterSizeBytes: facts.sizeBytes,
      },
    };
    await repo.writeManifest(manifest);
    complete = true;
    progress({ phase: 'done', bytes: put.size, message: `base backup ${id} complete` });
    return { manifest };
  } finally {
    if (!complete && reserved) await repo.deleteBackup(reserved).catch(() => undefined);
    await release();
  }
}

async function waitForSegments(
  repo: Repository,
  timeline: number,
  first: number,
  last: number,
  segmentSize: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const started = Date.now();
  for (let n = first; n <= last; n++) {
    const name = segmentName(timeline, n, segmentSize);
    for (;;) {
      throwIfAborted(signal);
      if (await findWalObject(repo.store, { name, kind: 'segment', timeline })) break;
      if (Date.now() - started > timeoutMs) {
        throw new LifelineError('ARCHIVING_BROKEN', `WAL segment ${name}, which the base backup needs, did not arrive in ${repo.location} within ${Math.round(timeoutMs / 1000)} s`, {
          hint: 'The backup was not recorded. Check archive_command with `lifeline archiving check`.',
        });
      }
      await sleep(150, undefined, { signal }).catch(() => {
        throw abortError(signal);
      });
    }
  }
}

function describeServer(conn: ConnInfo): string {
  return `${conn.host ?? 'localhost'}:${conn.port ?? 5432}`;
}

function basebackupError(result: { exitCode?: number; signal?: string }, stderrTail: string[], signal?: AbortSignal): Error {
  if (signal?.aborted) return abortError(signal);
  const detail = ([...stderrTail].reverse().find((line) => /error|fatal/i.test(line)) ?? stderrTail.at(-1) ?? '').replace(/^pg_basebackup: (error: )?/, '');
  if (result.signal) {
    return new LifelineError('BACKUP_FAILED', `pg_basebackup was killed (${result.signal}); no backup was recorded.`, {
      hint: 'Run the backup again; nothing partial was kept.',
    });
  }
  const replication = /replication|pg_hba|no pg_hba.conf entry|must be superuser or replication/i.test(detail);
  return new LifelineError('BACKUP_FAILED', `pg_basebackup failed (exit ${result.exitCode}): ${detail}`, {
    hint: replication
      ? 'The role needs the REPLICATION attribute and pg_hba.conf a "replication" line for it; max_wal_senders must be > 0.'
      : 'Nothing partial was kept; check the server log.',
  });
}
