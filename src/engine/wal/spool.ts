import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_SEGMENT_SIZE, parseWalName, segmentName, segmentNumber } from './names.js';

/*
 * Read-ahead for restore_command. PostgreSQL asks for one WAL file at a time and waits for each
 * answer; a background prefetcher (prefetch.ts) fetches the next segments into a spool while
 * recovery replays, so most wal-fetch calls only rename a file. A file appears in the spool (by
 * rename) only once fetched and checked exactly as wal-fetch checks it, and only files that are
 * in the archive are ever spooled: "not found" always comes from the repository itself.
 * This file stays light: a spool hit must not load the store, the keys or the codecs.
 */

export const DEFAULT_READ_AHEAD = 8;
const LOCK = '.prefetcher';

/** <dir of %p>/.lifeline-prefetch/<repository id>: on pg_wal's file system, so taking a file is a rename. */
export function spoolDir(dest: string, repoLocation: string): string {
  return path.join(path.dirname(path.resolve(dest)), SPOOL_FOLDER, spoolId(repoLocation));
}

export const SPOOL_FOLDER = '.lifeline-prefetch';
/** Inside a spool: the repository's .history files, laid out by lifeline pitr before the server starts. */
export const HISTORY_FOLDER = '.history';
/** In HISTORY_FOLDER once it holds every .history file of the repository: any other is not archived. */
export const HISTORY_COMPLETE = '.complete';

/** Several repositories may feed one recovery (a copy, a second archive): one spool each. */
export function spoolId(repoLocation: string): string {
  return createHash('sha256').update(repoLocation).digest('hex').slice(0, 12);
}

/**
 * Takes `name` from the spool, first waiting while the prefetcher is fetching it (its temporary
 * file is in the spool): fetching it a second time in the foreground would only compete with it.
 * False when it is not there and not on its way, or the prefetcher gave up.
 */
export async function takeWhenSpooled(spool: string, name: string, dest: string, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const fetching = () => {
    try {
      return fs.readdirSync(spool).some((entry) => entry.startsWith(`.${name}.lifeline-`));
    } catch {
      return false;
    }
  };
  while (fetching() && prefetcherRunning(spool) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return takeFromSpool(spool, name, dest);
}

/** The spool root under a data directory (lifeline pitr removes it once recovery is over). */
export function spoolRoot(dataDir: string): string {
  return path.join(dataDir, 'pg_wal', SPOOL_FOLDER);
}

/** Creates the spool's two folders inside an existing pg_wal; false when pg_wal is gone. */
export function makeSpool(spool: string): boolean {
  for (const dir of [path.dirname(spool), spool]) {
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return false;
      if (code !== 'EEXIST') throw error;
    }
  }
  return true;
}

/**
 * Ends the prefetchers working under a data directory and removes the spool (recovery is over or
 * abandoned): a prefetcher must not write into a folder that is about to be removed. A killed
 * prefetcher is waited for (SIGKILL is delivered, not done, when kill returns), and one that was
 * still starting up, not yet holding its spool, is found by the next round when it wrote there.
 */
export async function stopPrefetchers(dataDir: string): Promise<void> {
  const root = spoolRoot(dataDir);
  for (let round = 1; ; round++) {
    let spools: string[];
    try {
      spools = fs.readdirSync(root);
    } catch {
      return;
    }
    const running = spools.map((spool) => lockPid(path.join(root, spool))).filter((pid): pid is number => pid !== undefined && isPrefetcher(pid));
    for (const pid of running) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    const deadline = Date.now() + 10_000;
    while (running.some(isPrefetcher) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    try {
      fs.rmSync(root, { recursive: true, force: true });
      return;
    } catch (error) {
      if (round === 5 || (error as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw error;
    }
  }
}

/**
 * Whether the data directory a spool serves is still in recovery (PostgreSQL removes the signal
 * file when it promotes; before 12, renames recovery.conf): a prefetcher has no work once it is not.
 */
export function recovering(spool: string): boolean {
  const dataDir = path.dirname(path.dirname(path.dirname(spool)));
  return ['recovery.signal', 'standby.signal', 'recovery.conf'].some((signal) => fs.existsSync(path.join(dataDir, signal)));
}

/** A live prefetcher (a dead one's pid may be reused, and a zombie has an empty command line). */
function isPrefetcher(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('wal-prefetch');
  } catch {
    return false;
  }
}

/** Moves spooled `name` to `dest`; false when it is not there (yet). */
export async function takeFromSpool(spool: string, name: string, dest: string): Promise<boolean> {
  try {
    await fs.promises.rename(path.join(spool, name), dest);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * The segment size a WAL segment file was written with: its first page carries a long header
 * (xlp_info has XLP_LONG_HEADER; xlp_seg_size at byte 32). The default when unreadable.
 */
export function segmentSizeOf(file: string): number {
  const header = Buffer.alloc(40);
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    if (fs.readSync(fd, header, 0, 40, 0) < 40) return DEFAULT_SEGMENT_SIZE;
  } catch {
    return DEFAULT_SEGMENT_SIZE;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  const XLP_LONG_HEADER = 0x0002;
  const size = header.readUInt32LE(32);
  const powerOfTwo = size > 0 && (size & (size - 1)) === 0;
  return header.readUInt16LE(2) & XLP_LONG_HEADER && powerOfTwo && size >= 1 << 20 && size <= 1 << 30 ? size : DEFAULT_SEGMENT_SIZE;
}

/** The `count` segment names after segment `name`, on its timeline; none for other kinds of file. */
export function followingSegments(name: string, count: number, segmentSize = DEFAULT_SEGMENT_SIZE): string[] {
  const parsed = parseWalName(name);
  if (parsed?.kind !== 'segment') return [];
  const first = segmentNumber(parsed, segmentSize) + 1;
  return Array.from({ length: count }, (_, i) => segmentName(parsed.timeline, first + i, segmentSize));
}

/** Whether a prefetcher works on this spool now (its pid file names a live process). */
export function prefetcherRunning(spool: string): boolean {
  const pid = lockPid(spool);
  return pid !== undefined && processAlive(pid);
}

function lockPid(spool: string): number | undefined {
  try {
    return Number(fs.readFileSync(path.join(spool, LOCK), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Claims the spool for one prefetcher; undefined when a live one holds it. A claim left by a
 * dead process is taken over.
 */
export function claimSpool(spool: string): (() => void) | undefined {
  const lock = path.join(spool, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => fs.rmSync(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (prefetcherRunning(spool)) return undefined;
      fs.rmSync(lock, { force: true });
    }
  }
  return undefined;
}

/** Removes spooled segments that sort before `name`: recovery has gone past them. */
export function dropPassed(spool: string, name: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(spool);
  } catch {
    return;
  }
  for (const entry of entries) if (!entry.startsWith('.') && entry < name) fs.rmSync(path.join(spool, entry), { force: true });
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
