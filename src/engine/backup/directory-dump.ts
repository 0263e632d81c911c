import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { LifelineError } from '../../errors.js';
import { freeBytes } from '../../fs-util.js';
import { formatBytes } from '../../format.js';
import { toolEnv, type ConnInfo } from '../../postgres/conninfo.js';
import type { PgTool } from '../../postgres/tools.js';
import type { StoredObject } from '../../storage/manifest.js';
import { DUMP_FOLDER, type Repository } from '../../storage/repository.js';
import { compressFile, type Codec } from '../compress/codec.js';
import { workQueue } from '../work-queue.js';
import { makeScratchDir } from '../scratch.js';
import { dumpError } from './dump-errors.js';
import { qualified, type TableRef } from './fingerprint.js';
import { completionGuard, stderrTail, storeFromProducer } from './guard.js';

export interface DirectoryDumpOptions {
  pgDump: PgTool;
  conn: ConnInfo;
  /** pg_dump arguments shared with the custom format (snapshot, lock timeout, scope, --verbose). */
  args: string[];
  jobs: number;
  codec: Codec;
  repo: Repository;
  id: string;
  /** A folder lifeline owns on local disk; the dump is staged in a subfolder of it. */
  stagingDir: string;
  signal?: AbortSignal;
  /** Total bytes stored so far. */
  onStored?: (bytes: number) => void;
  onLine?: (line: string) => void;
}

export interface DumpedObjects {
  objects: StoredObject[];
  /** Bytes pg_dump wrote (before compression), when known. */
  plainBytes?: number;
}

/**
 * `pg_dump -Fd -j N` into a staging folder, each file compressed and stored as soon as pg_dump
 * has finished it, then deleted: the folder holds the files being written plus those waiting
 * for their upload, never the whole dump.
 *
 * When is a file finished? pg_dump's leader prints "finished item <dumpId> ..." (with --verbose,
 * in parallel mode) after the worker that wrote `<dumpId>.dat` closed it and reported back, and
 * no pg_dump ever reopens a data file. That report is exact and portable, unlike watching
 * /proc/<pid>/fd of the leader and its workers, which is Linux-only and racy (a file is visible
 * in the folder a moment before its descriptor is). Messages are forced to English (LC_ALL=C)
 * so the line can be read. Everything else (toc.dat, which the leader writes before any data,
 * blobs.toc and blob_*.dat, and any file whose line we missed) is stored once pg_dump exited 0.
 *
 * The files are stored as pg_dump wrote them (`--compress=0`), each compressed with the chosen
 * codec: `dump/toc.dat.zst`, `dump/3345.dat.zst`, ... Stock tools restore them after download
 * with `zstd -d --rm dump/*.zst` (lz4: `lz4 -d -m --rm`, gzip: nothing, pg_restore reads .gz
 * files itself) and `pg_restore -j N -d <db> dump/`.
 */
export async function dumpDirectory(options: DirectoryDumpOptions): Promise<DumpedObjects> {
  const { codec, repo, id } = options;
  const scratch = await makeScratchDir(options.stagingDir, 'backup-');
  const dir = path.join(scratch, 'dump');
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const objects: StoredObject[] = [];
  const queued = new Set<string>();
  let storedBytes = 0;
  let plainBytes = 0;

  const storeFile = async (name: string) => {
    const file = path.join(dir, name);
    const plainSize = (await fs.promises.stat(file)).size;
    const objectName = `${DUMP_FOLDER}${name}${codec.extension}`;
    const compressed = compressFile(codec, file, signal);
    let counted = 0;
    const guard = completionGuard({
      onBytes: (stored) => {
        storedBytes += stored - counted;
        counted = stored;
        options.onStored?.(storedBytes);
      },
      settle: async () => {
        await compressed.done;
        return null;
      },
    });
    const piping = pipeline(compressed.output, guard).catch(() => undefined);
    const producer = Object.assign(compressed.done.catch(() => undefined), { kill: () => (compressed.kill(), true) });
    const put = await storeFromProducer({ repo, id, name: objectName, body: guard, producer, piping, signal, sizeHint: 2 * plainSize });
    await fs.promises.unlink(file);
    plainBytes += plainSize;
    objects.push({ name: objectName, size: put.size, sha256: put.sha256, plainSize });
  };
  // An upload that fails first (full repository, ...) is the cause: pg_dump is stopped for it.
  let uploadFailure: { error: unknown } | undefined;
  const uploads = workQueue(Math.max(2, options.jobs), storeFile, (error) => {
    if (!signal.aborted) uploadFailure = { error };
    stop.abort();
  });
  const upload = (name: string) => {
    if (queued.has(name)) return;
    queued.add(name);
    uploads.add(name);
  };

  const dump = execa(
    options.pgDump.path,
    ['--format=directory', `--jobs=${options.jobs}`, '--compress=0', '--no-sync', `--file=${dir}`, ...options.args],
    { env: { ...toolEnv(options.conn), LC_ALL: 'C' }, extendEnv: false, stdout: 'ignore', stderr: 'pipe', buffer: false, cancelSignal: signal, reject: false },
  );
  const tail = stderrTail(dump.stderr!, (line) => {
    options.onLine?.(line);
    const finished = /^pg_dump: finished item (\d+) /.exec(line)?.[1];
    if (finished && fs.existsSync(path.join(dir, `${finished}.dat`))) upload(`${finished}.dat`);
  });
  try {
    const result = await dump;
    if (result.exitCode !== 0 || signal.aborted) {
      stop.abort();
      await uploads.drain().catch(() => undefined);
      if (uploadFailure && !options.signal?.aborted) throw uploadFailure.error;
      throw dumpError(result, tail, options.signal);
    }
    for (const name of fs.readdirSync(dir).sort()) upload(name);
    await uploads.drain();
    return { objects: objects.sort((a, b) => a.name.localeCompare(b.name)), plainBytes };
  } catch (error) {
    stop.abort();
    await uploads.drain().catch(() => undefined);
    throw error;
  } finally {
    await fs.promises.rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Local disk the staging folder needs: pg_dump's workers write the `jobs` largest tables at once
 * in the worst case (their on-disk size is the estimate for their text form).
 */
export async function stagingEstimate(client: pg.ClientBase, tables: TableRef[], jobs: number): Promise<number> {
  if (!tables.length) return 0;
  const { rows } = await client.query<{ size: string }>(
    `SELECT pg_table_size(t::regclass) AS size FROM unnest($1::text[]) AS t ORDER BY 1 DESC LIMIT $2`,
    [tables.map(qualified), jobs],
  );
  return rows.reduce((sum, row) => sum + Number(row.size), 0);
}

/** Refuses before pg_dump starts when the staging filesystem cannot hold the estimate. */
export function checkStagingSpace(stagingDir: string, neededBytes: number, jobs: number): void {
  const free = freeBytes(stagingDir);
  const needed = neededBytes + 16 * 1024 * 1024;
  if (free < needed) {
    throw new LifelineError('BACKUP_FAILED', `Not enough local disk to stage a parallel dump in ${stagingDir}: ${formatBytes(free)} free, about ${formatBytes(needed)} needed (the ${jobs} largest tables, dumped at once).`, {
      hint: 'Free space there, use fewer --jobs, or --jobs 1 (streams straight into the repository, no staging).',
    });
  }
}
