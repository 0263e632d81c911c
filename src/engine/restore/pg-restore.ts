import { execa } from 'execa';
import readline from 'node:readline';
import { LifelineError, abortError } from '../../errors.js';
import { toolEnv, type ConnInfo } from '../../postgres/conninfo.js';
import type { PgTool } from '../../postgres/tools.js';
import type { Manifest } from '../../storage/manifest.js';
import type { Repository } from '../../storage/repository.js';
import type { ProgressCallback } from '../progress.js';
import { streamDump, type StreamedObject } from './stream-dump.js';

export interface PgRestoreRun {
  /** Tables whose data pg_restore processed ("schema.table"). */
  tablesSeen: Set<string>;
  /** Size and hash of what was read, when pg_restore consumed the whole stream. */
  read?: StreamedObject;
  warnings: string[];
}

/**
 * Feeds a stored dump to pg_restore through its stdin. `args` decide what pg_restore does with it
 * (`-f /dev/null` to read the whole archive, `-d <db>` to restore). Throws RESTORE_FAILED with
 * pg_restore's own last error line when it fails.
 */
export async function pgRestoreFromBackup(options: {
  repo: Repository;
  manifest: Manifest;
  pgRestore: PgTool;
  args: string[];
  conn?: ConnInfo;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  onLine?: (line: string) => void;
}): Promise<PgRestoreRun> {
  const { signal } = options;
  // zstd writes straight into pg_restore's stdin (an OS pipe between the two, as in a shell
  // pipeline): the uncompressed bytes never pass through Node, which hashes the stored ones
  // (and decrypts them for an encrypted backup).
  const zstd =
    options.manifest.compression.algorithm === 'zstd'
      ? execa('zstd', ['-d', '-q', '-c'], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: { stdout: false, stderr: true }, cancelSignal: signal, reject: false })
      : undefined;
  const child = execa(options.pgRestore.path, ['--verbose', '--no-password', ...options.args], {
    env: options.conn ? toolEnv(options.conn) : process.env,
    extendEnv: false,
    stdin: zstd ? zstd.stdout! : 'pipe',
    stdout: 'ignore',
    stderr: 'pipe',
    buffer: false,
    cancelSignal: signal,
    reject: false,
  });
  // pg_restore holds its own copy of the pipe; ours must go, or zstd would never see pg_restore leave.
  zstd?.stdout?.destroy();
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
  let read: StreamedObject | undefined;
  let streamError: unknown;
  try {
    read = await streamDump({ repo: options.repo, manifest: options.manifest, sink: (zstd ?? child).stdin!, compressed: Boolean(zstd), signal, onProgress: options.onProgress });
  } catch (error) {
    streamError = error;
    (zstd ?? child).stdin?.destroy();
  }
  const [result, unzstd] = await Promise.all([child, zstd]);
  if (signal?.aborted) throw abortError(signal);
  if (result.exitCode !== 0 || errors.length) {
    const zstdError = unzstd?.failed ? String(unzstd.stderr ?? '').trim().split('\n').pop() || unzstd.shortMessage : undefined;
    const detail =
      errors.find((e) => !/^warning/i.test(e)) ?? errors[0] ?? (result.signal ? `killed by ${result.signal}` : `exit ${result.exitCode}`);
    throw new LifelineError('RESTORE_FAILED', `pg_restore failed: ${detail}${zstdError ? ` (zstd: ${zstdError})` : ''}`, {
      hint: 'The target was left as it was before this step; see the error above.',
    });
  }
  // pg_restore may stop reading once it has what it needs (the archive's end marker) and close
  // its stdin; after a clean exit a broken pipe is not a failure.
  if (streamError && !isBrokenPipe(streamError)) throw streamError;
  return { tablesSeen, read, warnings };
}

function isBrokenPipe(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED';
}
