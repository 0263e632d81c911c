import { execa } from 'execa';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Compression } from '../compress/spec.js';
import { toolEnv, type ConnInfo } from '../../postgres/conninfo.js';
import { connect } from '../../postgres/client.js';
import { serverFacts } from '../../postgres/facts.js';
import { findTool, type PgTool } from '../../postgres/tools.js';
import type { Repository } from '../../storage/repository.js';
import type { BackupLabel, Manifest } from '../../storage/manifest.js';
import { compressor, type Codec } from '../compress/codec.js';
import { throttle, type ProgressCallback } from '../progress.js';
import { hostName } from '../operator.js';
import { completionGuard, stderrTail, storeFromProducer } from './guard.js';
import { dumpedTables, fingerprintTables } from './fingerprint.js';
import { refuseTransactionPooler } from '../../postgres/pooler.js';
import { scopeArgs, tableDataInScope, type DumpScope, type PresetName } from '../../config/presets.js';
import { installedExtensions } from './extensions.js';
import { backupPreflight } from './preflight.js';
import { canReadRolePasswords, refuseUnencryptedRolePasswords, storeGlobals, type RolePasswords } from './globals.js';
import { dumpError, lockTimeout } from './dump-errors.js';
import { checkStagingSpace, dumpDirectory, stagingEstimate, type DumpedObjects } from './directory-dump.js';
import { compressionRecord } from './compression-record.js';

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
  /** Above 1: pg_dump -Fd -j N, each file stored as it completes (needs stagingDir). */
  jobs?: number;
  /** Local folder for the files of a parallel dump while they wait for their upload. */
  stagingDir?: string;
  /** The platform the target runs on (recorded, so a restore knows which schemas the platform owns). */
  preset?: PresetName;
  /**
   * Keep the roles' password hashes in globals.sql: refused (USAGE) unless the repository writes
   * encrypted. A role that cannot read them (not superuser) gets a backup without them, recorded
   * as `extra.rolePasswords: 'unreadable'` and reported through onProgress (phase 'warning').
   */
  rolePasswords?: boolean;
}

export interface LogicalBackupResult {
  manifest: Manifest;
}

/**
 * pg_dump -Fc → compression → store, streamed with back-pressure (or, with jobs > 1, pg_dump -Fd
 * -j N with each file stored as it completes: directory-dump.ts); row counts and fingerprints are
 * taken in the very snapshot pg_dump dumps (exported from our session), and the manifest is
 * written last so a failed or killed backup never looks complete.
 */
export async function logicalBackup(options: LogicalBackupOptions): Promise<LogicalBackupResult> {
  const { conn, repo, signal } = options;
  if (options.rolePasswords) refuseUnencryptedRolePasswords(repo);
  const progress = throttle(options.onProgress);
  const startedAt = new Date();
  progress({ phase: 'connect', message: 'connecting to the database' });
  const client = await connect(conn, { signal });
  let release: (() => Promise<void>) | undefined;
  let reserved: string | undefined;
  let complete = false;
  /** Everything that writes into the reserved backup; settled before a failed one is removed. */
  const writers: Promise<unknown>[] = [];
  try {
    await refuseTransactionPooler(client, 'a backup');
    await backupPreflight(client, { scope: options.scope });
    const rolePasswords: RolePasswords = !options.rolePasswords ? 'omitted' : (await canReadRolePasswords(client)) ? 'included' : 'unreadable';
    if (rolePasswords === 'unreadable') options.onProgress?.({ phase: 'warning', message: UNREADABLE_PASSWORDS });
    // Our own queries (sizes, row counts) must not queue behind DDL any longer than pg_dump would.
    await client.query(`SET lock_timeout = '${options.lockWaitTimeoutSeconds}s'`);
    // If we hang up early (pg_dump failed, Ctrl-C), the server stops our row counting promptly.
    await client.query(`SET client_connection_check_interval = '1s'`).catch(() => undefined);
    // The fingerprint scan runs beside pg_dump and only has to finish before it: parallel workers
    // would add CPU (~12% here) and take cores from the dump, not save time.
    await client.query('SET max_parallel_workers_per_gather = 0');
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
    const extensions = await installedExtensions(client);

    const jobs = options.jobs ?? 1;
    if (jobs > 1) {
      if (!options.stagingDir) throw new Error('a parallel logical backup needs a stagingDir');
      checkStagingSpace(options.stagingDir, await stagingEstimate(client, tables, jobs), jobs);
    }
    progress({ phase: 'dump', bytes: 0, totalBytes: facts.sizeBytes, message: `backup ${id}: dumping ${facts.database}${jobs > 1 ? ` with ${jobs} jobs` : ''}` });
    const onLine = (line: string) => {
      const table = /dumping contents of table "?([^"]+)"?/.exec(line);
      if (table) progress({ phase: 'dump', message: `dumping ${table[1]}` });
    };
    const dumpArgs = ['--verbose', '--no-password', `--snapshot=${snapshot}`, `--lock-wait-timeout=${options.lockWaitTimeoutSeconds}s`, ...scopeArgs(options.scope)];
    const onStored = (stored: number) => progress({ phase: 'dump', bytes: stored, totalBytes: facts.sizeBytes });
    const dumping =
      jobs > 1
        ? dumpDirectory({ pgDump, conn, args: dumpArgs, jobs, codec, repo, id, stagingDir: options.stagingDir!, signal, onStored, onLine })
        : dumpCustom({ pgDump, conn, args: dumpArgs, codec, repo, id, signal, onStored, onLine, sizeHint: 2 * facts.sizeBytes });
    dumping.catch(() => undefined);
    const fingerprinting = fingerprintTables(client, tables, { signal });
    fingerprinting.catch(() => undefined);
    // The roles (pg_dumpall, a separate process) are read while the dump streams, not after it.
    const storingGlobals = storeGlobals(client, repo, id, { conn, major: facts.major, signal, passwords: rolePasswords === 'included' });
    storingGlobals.catch(() => undefined);
    writers.push(dumping, storingGlobals);

    const dumped = await dumping;
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
      compression: compressionRecord(codec, dumped),
      ...(repo.encryption ? { encryption: repo.encryption } : {}),
      objects: [...dumped.objects, ...(globals.object ? [globals.object] : [])],
      tables: tableFacts,
      extra: {
        format: jobs > 1 ? 'directory' : 'custom',
        ...(jobs > 1 ? { jobs } : {}),
        databaseSizeBytes: facts.sizeBytes,
        ...(options.scope ? { scope: options.scope } : {}),
        ...(options.preset ? { preset: options.preset } : {}),
        extensions,
        globals: globals.method ?? globals.note,
        rolePasswords: rolePasswords === 'included' && !globals.object ? 'unreadable' : rolePasswords,
      },
    };
    await repo.writeManifest(manifest);
    complete = true;
    progress({ phase: 'done', bytes: dumped.objects.reduce((sum, o) => sum + o.size, 0), message: `backup ${id} complete` });
    return { manifest };
  } finally {
    // Closing the connection ends the snapshot transaction; an explicit ROLLBACK would queue
    // behind a row count that may still be scanning a large table. Always: an open connection
    // keeps the process alive after it has reported its error.
    await client.end().catch(() => undefined);
    // A failed backup leaves nothing behind: no manifest was written, so its reservation and
    // any stored object are removed rather than left for a later sweep. The roles are stored
    // while the dump streams: wait for that, or a late globals.sql recreates the folder.
    try {
      if (!complete) await Promise.allSettled(writers);
      if (!complete && reserved) await repo.deleteBackup(reserved).catch(() => undefined);
    } finally {
      await release?.();
    }
  }
}

export const UNREADABLE_PASSWORDS =
  'role passwords were asked for, but this role cannot read pg_authid (only a superuser or a member of pg_read_all_data can): globals.sql holds the roles without passwords';

/**
 * pg_dump -Fc into the store as one object, `data.dump<ext>`. zstd/lz4 start first and pg_dump
 * writes straight into their stdin (like a shell pipe), so the uncompressed stream never passes
 * through Node; gzip/none are piped in-process.
 */
async function dumpCustom(options: {
  pgDump: PgTool;
  conn: ConnInfo;
  args: string[];
  codec: Codec;
  repo: Repository;
  id: string;
  signal?: AbortSignal;
  onStored: (bytes: number) => void;
  onLine: (line: string) => void;
  /** A bound of the stored size: twice the database (indexes are not dumped; binary types are, as text). */
  sizeHint?: number;
}): Promise<DumpedObjects> {
  const { codec, repo, signal } = options;
  const objectName = `data.dump${codec.extension}`;
  const codecProcess = codec.startProcess?.(signal);
  const dump = execa(options.pgDump.path, ['--format=custom', '--compress=0', ...options.args], {
    env: toolEnv(options.conn),
    extendEnv: false,
    stdout: codecProcess ? codecProcess.input! : 'pipe',
    stderr: 'pipe',
    buffer: false,
    cancelSignal: signal,
    reject: false,
  });
  // pg_dump holds its own copy of the codec's stdin; ours must close so the codec sees the end.
  codecProcess?.input!.destroy();
  const tail = stderrTail(dump.stderr!, options.onLine);
  const inProcess = codecProcess ? undefined : codec.create(signal);
  const compressDone = codecProcess?.done ?? inProcess!.done;
  let plainBytes: number | undefined;
  const guard = completionGuard({
    onBytes: options.onStored,
    settle: async () => {
      const [result, stats] = await Promise.all([dump, compressDone]);
      plainBytes = stats.plainBytes;
      return result.exitCode === 0 && !signal?.aborted ? null : dumpError(result, tail, signal);
    },
  });
  const piping = (codecProcess ? pipeline(codecProcess.output, guard) : pipeline(dump.stdout as Readable, inProcess!.stream, guard)).catch(() => undefined);
  const put = await storeFromProducer({ repo, id: options.id, name: objectName, body: guard, producer: dump, piping, signal, sizeHint: options.sizeHint });
  return { objects: [{ name: objectName, size: put.size, sha256: put.sha256, ...(plainBytes === undefined ? {} : { plainSize: plainBytes }) }], plainBytes };
}
