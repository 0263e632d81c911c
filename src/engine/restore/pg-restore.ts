import { execa, type ResultPromise } from 'execa';
import readline from 'node:readline';
import { LifelineError, abortError } from '../../errors.js';
import { toolEnv, type ConnInfo } from '../../postgres/conninfo.js';
import type { PgTool } from '../../postgres/tools.js';
import type { Manifest } from '../../storage/manifest.js';
import type { Repository } from '../../storage/repository.js';
import { decompressor } from '../compress/codec.js';
import type { ProgressCallback } from '../progress.js';
import { dumpFormat, withStagedDump } from './stage.js';
import { streamDump, type StreamedObject } from './stream-dump.js';

export interface PgRestoreRun {
  /** Tables whose data pg_restore processed ("schema.table"). */
  tablesSeen: Set<string>;
  /** Size and hash of what was read, when pg_restore consumed the whole stream. */
  read?: StreamedObject;
  warnings: string[];
}

interface PgRestoreOptions {
  repo: Repository;
  manifest: Manifest;
  pgRestore: PgTool;
  args: string[];
  conn?: ConnInfo;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  onLine?: (line: string) => void;
  /** pg_restore's standard output (e.g. for --list); ignored when not given. */
  onStdout?: (text: string) => void;
}

/**
 * Runs pg_restore on a stored dump, the way its format and `jobs` allow: a custom-format dump
 * with one job streams through pg_restore's stdin; anything else is staged on local disk first
 * (pg_restore -j cannot read stdin, and a directory dump is many files) and restored with
 * `pg_restore -j N` when the arguments restore into a database.
 */
export async function runPgRestore(options: PgRestoreOptions & { jobs?: number; stagingDir: string }): Promise<PgRestoreRun> {
  const jobs = options.jobs ?? 1;
  if (dumpFormat(options.manifest) === 'custom' && !(jobs > 1 && parallelAllowed(options.args))) return pgRestoreFromBackup(options);
  return withStagedDump({ ...options, jobs }, (local) => pgRestoreFromPath({ ...options, path: local, jobs }));
}

/**
 * Feeds a stored custom-format dump to pg_restore through its stdin. `args` decide what
 * pg_restore does with it (`-f /dev/null` to read the whole archive, `-d <db>` to restore).
 * Throws RESTORE_FAILED with pg_restore's own last error line when it fails.
 */
export async function pgRestoreFromBackup(options: PgRestoreOptions): Promise<PgRestoreRun> {
  const { signal } = options;
  // zstd/lz4 write straight into pg_restore's stdin (an OS pipe between the two, as in a shell
  // pipeline): the uncompressed bytes never pass through Node, which hashes the stored ones
  // (and decrypts them for an encrypted backup).
  const codec = decompressor(options.manifest.compression.algorithm).startProcess?.(signal);
  const child = execa(options.pgRestore.path, ['--verbose', '--no-password', ...options.args], {
    env: options.conn ? toolEnv(options.conn) : process.env,
    extendEnv: false,
    stdin: codec ? codec.output : 'pipe',
    stdout: options.onStdout ? 'pipe' : 'ignore',
    stderr: 'pipe',
    buffer: false,
    cancelSignal: signal,
    reject: false,
  });
  if (options.onStdout) child.stdout!.setEncoding('utf8').on('data', options.onStdout);
  // pg_restore holds its own copy of the pipe; ours must go, or the codec would never see pg_restore leave.
  codec?.output.destroy();
  const seen = watchLines(child, options);
  let read: StreamedObject | undefined;
  let streamError: unknown;
  try {
    read = await streamDump({ repo: options.repo, manifest: options.manifest, sink: (codec?.input ?? child.stdin)!, compressed: Boolean(codec), signal, onProgress: options.onProgress });
  } catch (error) {
    streamError = error;
    (codec?.input ?? child.stdin)?.destroy();
  }
  const [result, codecError] = await Promise.all([child, codec?.done.then(() => undefined, (error: Error) => error.message)]);
  if (signal?.aborted) throw abortError(signal);
  // The repository failed mid-stream (unreachable, unreadable): that is the cause to report;
  // pg_restore only saw its input end early. A broken pipe means pg_restore stopped reading first
  // (it may stop once it has the archive's end marker, and after a clean exit that is no failure).
  if (streamError && !isBrokenPipe(streamError)) throw streamError;
  throwIfFailed(result, seen.errors, codecError);
  return { tablesSeen: seen.tablesSeen, read, warnings: seen.warnings };
}

/**
 * pg_restore on a local file or directory. `--jobs` only where pg_restore allows it: into a
 * database (not to a file) and not in one transaction.
 */
export async function pgRestoreFromPath(options: Omit<PgRestoreOptions, 'repo' | 'manifest'> & { path: string; jobs: number }): Promise<PgRestoreRun> {
  const parallel = options.jobs > 1 && parallelAllowed(options.args);
  const child = execa(options.pgRestore.path, ['--verbose', '--no-password', ...options.args, ...(parallel ? [`--jobs=${options.jobs}`] : []), options.path], {
    env: options.conn ? toolEnv(options.conn) : process.env,
    extendEnv: false,
    stdin: 'ignore',
    stdout: options.onStdout ? 'pipe' : 'ignore',
    stderr: 'pipe',
    buffer: false,
    cancelSignal: options.signal,
    reject: false,
  });
  if (options.onStdout) child.stdout!.setEncoding('utf8').on('data', options.onStdout);
  const seen = watchLines(child, options);
  const result = await child;
  if (options.signal?.aborted) throw abortError(options.signal);
  throwIfFailed(result, seen.errors);
  return { tablesSeen: seen.tablesSeen, warnings: seen.warnings };
}

/** pg_restore -j works into a database only, and not in a single transaction. */
function parallelAllowed(args: string[]): boolean {
  return args.some((a) => a.startsWith('--dbname')) && !args.includes('--single-transaction');
}

function watchLines(child: ResultPromise, options: { onProgress?: ProgressCallback; onLine?: (line: string) => void }) {
  const tablesSeen = new Set<string>();
  const errors: string[] = [];
  const warnings: string[] = [];
  readline.createInterface({ input: child.stderr! }).on('line', (line) => {
    const table = /processing data for table "([^"]+)"/.exec(line);
    if (table) {
      tablesSeen.add(table[1]);
      options.onProgress?.({ phase: 'restore', message: `restoring ${table[1]}` });
    }
    if (/error|fatal/i.test(line)) errors.push(line.replace(/^pg_restore: (error: )?/, ''));
    else if (/warning/i.test(line)) warnings.push(line);
    options.onLine?.(line);
  });
  return { tablesSeen, errors, warnings };
}

function throwIfFailed(result: { exitCode?: number; signal?: string }, errors: string[], codecError?: string): void {
  if (result.exitCode === 0 && !errors.length) return;
  const detail = errors.find((e) => !/^warning/i.test(e)) ?? errors[0] ?? (result.signal ? `killed by ${result.signal}` : `exit ${result.exitCode}`);
  throw new LifelineError('RESTORE_FAILED', `pg_restore failed: ${detail}${codecError ? ` (${codecError})` : ''}`, {
    hint: 'The target was left as it was before this step; see the error above.',
  });
}

function isBrokenPipe(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED';
}
