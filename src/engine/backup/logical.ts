import { execa } from 'execa';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifelineError, abortError } from '../../errors.js';
import type { Compression } from '../../config/schema.js';
import { toolEnv, type ConnInfo } from '../../postgres/conninfo.js';
import { connect } from '../../postgres/client.js';
import { serverFacts } from '../../postgres/facts.js';
import { findTool } from '../../postgres/tools.js';
import type { Repository } from '../../storage/repository.js';
import type { BackupLabel, Manifest } from '../../storage/manifest.js';
import { compressor } from '../compress/codec.js';
import { throttle, type ProgressCallback } from '../progress.js';
import { hostName } from '../operator.js';
import { completionGuard, stderrTail, storeFromProducer } from './guard.js';
import { dumpedTables, fingerprintTables } from './fingerprint.js';
import { refuseTransactionPooler } from '../../postgres/pooler.js';
import { scopeArgs, tableDataInScope, type DumpScope } from '../../config/presets.js';
import { backupPreflight } from './preflight.js';
import { storeGlobals } from './globals.js';

export interface LogicalBackupOptions {
  conn: ConnInfo;
  repo: Repository;
  label: BackupLabel;
  reason?: string;
  operator: string;
  compression: Compression;
  compressionLevel?: number;
  /** pg_dump gives up instead of queueing behind (and blocking) DDL for longer than this. */
  lockWaitTimeoutSeconds: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** Wait this long for another writer's repository lock (default 0: refuse at once). */
  lockWaitMs?: number;
  /** The caller already holds the repository lock (e.g. a restore taking its safety backup). */
  holdsLock?: boolean;
  /** Schemas/tables to take (pg_dump -n/-N/-t/-T/--exclude-table-data); default the whole database. */
  scope?: DumpScope;
}

export interface LogicalBackupResult {
  manifest: Manifest;
}

/**
 * pg_dump -Fc → compression → store, streamed with back-pressure; row counts and fingerprints are
 * taken in the very snapshot pg_dump dumps (exported from our session), and the manifest is
 * written last so a failed or killed backup never looks complete.
 */
export async function logicalBackup(options: LogicalBackupOptions): Promise<LogicalBackupResult> {
  const { conn, repo, signal } = options;
  const progress = throttle(options.onProgress);
  const startedAt = new Date();
  progress({ phase: 'connect', message: 'connecting to the database' });
  const client = await connect(conn, { signal });
  let release: (() => Promise<void>) | undefined;
  let reserved: string | undefined;
  let complete = false;
  try {
    await refuseTransactionPooler(client, 'a backup');
    await backupPreflight(client, { scope: options.scope });
    // Our own queries (sizes, row counts) must not queue behind DDL any longer than pg_dump would.
    await client.query(`SET lock_timeout = '${options.lockWaitTimeoutSeconds}s'`);
    // If we hang up early (pg_dump failed, Ctrl-C), the server stops our row counting promptly.
    await client.query(`SET client_connection_check_interval = '1s'`).catch(() => undefined);
    const facts = await serverFacts(client).catch(lockTimeout);
    const pgDump = await findTool('pg_dump', { major: facts.major });
    const codec = compressor(options.compression, options.compressionLevel);

    await repo.prepareDataWrites();
    if (!options.holdsLock) {
      release = await repo.acquireLock({
        command: `lifeline backup (${options.label})`,
        wait: options.lockWaitMs,
        signal,
        onWaiting: (holder) => progress({ phase: 'lock', message: `waiting for ${holder.command} (pid ${holder.pid}) to release the repository` }),
      });
    }
    const id = await repo.reserveBackupId({ label: options.label, time: startedAt, signal });
    reserved = id;
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const { rows } = await client.query<{ snapshot: string; at: Date }>(
      'SELECT pg_export_snapshot() AS snapshot, clock_timestamp() AS at',
    );
    const { snapshot, at: snapshotAt } = rows[0];
    const tables = (await dumpedTables(client)).filter((t) => tableDataInScope(options.scope, t));

    const objectName = `data.dump${codec.extension}`;
    progress({ phase: 'dump', bytes: 0, totalBytes: facts.sizeBytes, message: `backup ${id}: dumping ${facts.database}` });

    // zstd starts first and pg_dump writes straight into its stdin (like a shell pipe), so the
    // uncompressed stream never passes through Node; gzip/none are piped in-process.
    const codecProcess = codec.startProcess?.(signal);
    const dump = execa(
      pgDump.path,
      ['--format=custom', '--compress=0', '--verbose', '--no-password', `--snapshot=${snapshot}`, `--lock-wait-timeout=${options.lockWaitTimeoutSeconds}s`, ...scopeArgs(options.scope)],
      { env: toolEnv(conn), extendEnv: false, stdout: codecProcess ? codecProcess.input : 'pipe', stderr: 'pipe', buffer: false, cancelSignal: signal, reject: false },
    );
    // pg_dump holds its own copy of zstd's stdin; ours must close so zstd sees the end of input.
    codecProcess?.input.destroy();
    const tail = stderrTail(dump.stderr!, (line) => {
      const table = /dumping contents of table "?([^"]+)"?/.exec(line);
      if (table) progress({ phase: 'dump', message: `dumping ${table[1]}` });
    });

    const inProcess = codecProcess ? undefined : codec.create(signal);
    const compressDone = codecProcess?.done ?? inProcess!.done;
    const guard = completionGuard({
      onBytes: (stored) => progress({ phase: 'dump', bytes: stored, totalBytes: facts.sizeBytes }),
      settle: async () => {
        const [result] = await Promise.all([dump, compressDone]);
        return result.exitCode === 0 && !signal?.aborted ? null : dumpError(result, tail, signal);
      },
    });
    const piping = (codecProcess ? pipeline(codecProcess.output, guard) : pipeline(dump.stdout as Readable, inProcess!.stream, guard)).catch(() => undefined);
    const fingerprinting = fingerprintTables(client, tables, { signal });
    fingerprinting.catch(() => undefined);
    // The roles (pg_dumpall, a separate process) are read while the dump streams, not after it.
    const storingGlobals = storeGlobals(client, repo, id, { conn, major: facts.major, signal });
    storingGlobals.catch(() => undefined);

    const put = await storeFromProducer({ repo, id, name: objectName, body: guard, producer: dump, piping, signal });
    progress({ phase: 'fingerprint', message: `counting rows in ${tables.length} tables (same snapshot)` });
    const tableFacts = await fingerprinting.catch(lockTimeout);
    const globals = await storingGlobals;
    await client.query('COMMIT');

    const manifest: Manifest = {
      formatVersion: 1,
      id,
      kind: 'logical',
      label: options.label,
      ...(options.reason ? { reason: options.reason } : {}),
      operator: options.operator,
      host: hostName(),
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      snapshotAt: snapshotAt.toISOString(),
      database: facts.database,
      serverVersion: facts.version,
      serverVersionNum: facts.versionNum,
      toolVersions: { pg_dump: pgDump.version.text },
      systemIdentifier: facts.systemIdentifier,
      compression: { algorithm: codec.algorithm, ...(codec.level ? { level: codec.level } : {}) },
      ...(repo.encryption ? { encryption: repo.encryption } : {}),
      objects: [{ name: objectName, size: put.size, sha256: put.sha256 }, ...(globals.object ? [globals.object] : [])],
      tables: tableFacts,
      extra: { format: 'custom', databaseSizeBytes: facts.sizeBytes, ...(options.scope ? { scope: options.scope } : {}), globals: globals.method ?? globals.note },
    };
    await repo.writeManifest(manifest);
    complete = true;
    progress({ phase: 'done', bytes: put.size, message: `backup ${id} complete` });
    return { manifest };
  } finally {
    // A failed backup leaves nothing behind: no manifest was written, so its reservation and
    // any stored object are removed rather than left for a later sweep.
    if (!complete && reserved) await repo.deleteBackup(reserved).catch(() => undefined);
    await release?.();
    // Closing the connection ends the snapshot transaction; an explicit ROLLBACK would queue
    // behind a row count that may still be scanning a large table.
    await client.end().catch(() => undefined);
  }
}

/** PostgreSQL's lock_not_available (lock_timeout expired) as the same error pg_dump gives. */
function lockTimeout(error: unknown): never {
  if ((error as { code?: string }).code === '55P03') {
    throw new LifelineError('BACKUP_FAILED', `could not lock a table in time: ${(error as Error).message}`, {
      hint: 'A long-running DDL or transaction holds a lock; retry later or raise backup.lockWaitTimeoutSeconds.',
    });
  }
  throw error;
}

function dumpError(result: { exitCode?: number; signal?: string; isCanceled?: boolean }, stderrTail: string[], signal?: AbortSignal): Error {
  if (signal?.aborted) return abortError(signal);
  const lastError = [...stderrTail].reverse().find((line) => /error|fatal/i.test(line)) ?? stderrTail.at(-1) ?? '';
  const detail = lastError.replace(/^pg_dump: (error: )?/, '');
  if (result.signal) {
    return new LifelineError('BACKUP_FAILED', `pg_dump was killed (${result.signal}); no backup was recorded.`, {
      hint: 'Run the backup again; nothing partial was kept.',
    });
  }
  if (/lock/i.test(detail) && /timeout|could not obtain/i.test(detail)) {
    return new LifelineError('BACKUP_FAILED', `pg_dump could not lock a table in time: ${detail}`, {
      hint: 'A long-running DDL or transaction holds a lock; retry later or raise backup.lockWaitTimeoutSeconds.',
    });
  }
  return new LifelineError('BACKUP_FAILED', `pg_dump failed (exit ${result.exitCode}): ${detail}`, {
    hint: 'Check the database connection and the role\'s privileges (it must be able to read every table).',
  });
}
