import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LifelineError } from '../../errors.js';
import { asServerUser, chownToServerUser, runAsServerUser } from '../../postgres/server-user.js';
import type { Keyring } from '../../storage/crypto/keys.js';
import type { Store } from '../../storage/store.js';
import { readCatalog } from '../wal/catalog.js';
import { lifelineArgv, restoreCommand, spoolLocation, type CommandKeys } from '../wal/command.js';
import { walFetch } from '../wal/fetch.js';
import { DEFAULT_READ_AHEAD, followingSegments, HISTORY_COMPLETE, HISTORY_FOLDER, segmentSizeOf, spoolDir } from '../wal/spool.js';

/*
 * Before the recovering server starts, lifeline pitr lays out what PostgreSQL will ask for first,
 * so that restore_command answers from the spool (command.ts) instead of starting node for each:
 * the backup's first WAL segment, every .history file of the repository (and so "not archived"
 * for any other, which PostgreSQL probes for at start and again when it promotes), and a
 * prefetcher already fetching the segments after the first.
 */

export interface WarmSpoolOptions {
  dataDir: string;
  /** The repository restore_command reads (its location, as given to restore_command). */
  walRepo: string;
  keys: CommandKeys;
  /** The backup's first WAL segment. */
  firstSegment: string;
  /** The same repository, opened: the .history files are read from it (none when it is another one). */
  store?: Store;
  keyring?: Keyring;
  signal?: AbortSignal;
}

/** The spool restore_command reads for a recovery in `dataDir` from `walRepo` (PostgreSQL's %p is in pg_wal). */
function recoverySpool(dataDir: string, walRepo: string): string {
  return spoolDir(path.join(dataDir, 'pg_wal', 'RECOVERYXLOG'), spoolLocation(walRepo));
}

/**
 * Lays the spool out; the prefetcher it starts is stopped (and waited for) by the returned
 * function, which the caller runs however recovery ends: one still starting up has not claimed
 * the spool yet, so stopPrefetchers (spool.ts) would not find it before the folders are removed.
 */
export async function warmSpool(options: WarmSpoolOptions): Promise<{ stop(): Promise<void> }> {
  const spool = recoverySpool(options.dataDir, options.walRepo);
  for (const dir of [path.dirname(spool), spool]) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    await chownToServerUser(dir);
  }
  await fetchAsServer(options, spool);
  const prefetcher = await startPrefetcher(options, spool);
  try {
    if (options.store) await layOutHistory(options.store, options.keyring, spool, options.signal);
  } catch (error) {
    await prefetcher.stop();
    throw error;
  }
  return prefetcher;
}

/**
 * Runs restore_command's wal-fetch once, as the server's OS user, for the backup's first WAL
 * segment, into the spool: a repository that user cannot read fails here, before the server starts.
 */
async function fetchAsServer(options: WarmSpoolOptions, spool: string): Promise<void> {
  const name = options.firstSegment;
  const command = restoreCommand({ repo: options.walRepo, ...options.keys, readAhead: 0 });
  const shell = command.replace(/%f/g, name).replace(/%p/g, path.join(spool, name)).replace(/%%/g, '%');
  const result = await runAsServerUser('/bin/sh', ['-c', shell], { cwd: options.dataDir, cancelSignal: options.signal, stdout: 'pipe', stderr: 'pipe' });
  if (result.exitCode !== 0) {
    const detail = String(result.stderr).split('\n').find((line) => line.startsWith('error:'))?.slice(7) ?? `exit ${result.exitCode}`;
    throw new LifelineError('PITR_FAILED', `restore_command cannot fetch ${name} (the backup's first WAL file) as the server's OS user: ${detail}`, {
      hint: 'The server user must be able to read the repository (lifeline archiving setup --apply shares it when run as root).',
    });
  }
}

/** The read-ahead for the segments after the first, as the server's OS user, as wal-fetch would start it. */
async function startPrefetcher(options: WarmSpoolOptions, spool: string): Promise<{ stop(): Promise<void> }> {
  const segmentSize = segmentSizeOf(path.join(spool, options.firstSegment));
  // The first is spooled already: the window starts with it, so the prefetcher keeps it.
  const names = [options.firstSegment, ...followingSegments(options.firstSegment, DEFAULT_READ_AHEAD - 1, segmentSize)];
  const keys = [...(options.keys.keyFile ? ['--key-file', options.keys.keyFile] : []), ...(options.keys.keyringFile ? ['--keyring', options.keys.keyringFile] : [])];
  const [node, bin] = lifelineArgv();
  let child: ChildProcess;
  try {
    const [cmd, argv] = await asServerUser(node, [bin, 'wal-prefetch', '--repo', options.walRepo, ...keys, '--segment-size', String(segmentSize), spool, ...names]);
    // Its own process group (runuser and the node under it), so that one signal ends both.
    child = spawn(cmd, argv, { detached: true, stdio: 'ignore', cwd: options.dataDir });
    child.on('error', () => undefined);
  } catch {
    return { stop: async () => undefined }; // no read-ahead then: wal-fetch fetches each file itself, and starts one
  }
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.unref();
  return {
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      child.ref(); // its exit is now worth waiting for
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        return; // gone already
      }
      await exited;
    },
  };
}

/** Every .history file of the repository, copied where restore_command finds it, then the mark that the list is complete. */
async function layOutHistory(store: Store, keyring: Keyring | undefined, spool: string, signal?: AbortSignal): Promise<void> {
  const dir = path.join(spool, HISTORY_FOLDER);
  fs.mkdirSync(dir, { mode: 0o700 });
  await chownToServerUser(dir);
  const catalog = await readCatalog(store);
  for (const entry of catalog.histories.values()) {
    const name = entry.name;
    // Fetched under a hidden name, owned by the server user, then renamed: never seen half-made.
    const hidden = path.join(dir, `.${name}.part`);
    await walFetch({ store, keyring, name, dest: hidden, signal });
    await chownToServerUser(hidden);
    fs.renameSync(hidden, path.join(dir, name));
  }
  const complete = path.join(dir, HISTORY_COMPLETE);
  fs.writeFileSync(complete, '', { mode: 0o600 });
  await chownToServerUser(complete);
}
