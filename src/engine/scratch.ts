import fs from 'node:fs';
import path from 'node:path';
import { LifelineError, errnoCode } from '../errors.js';
import { ensureDir, writeFileAtomic } from '../fs-util.js';
import { clusterExists, openCluster } from '../postgres/cluster.js';
import { currentProcess, processLiveness, type ProcessIdentity } from '../storage/process-identity.js';

/*
 * Scratch folders under <data>/scratch, one per operation: a verification's disposable cluster,
 * a pitr --into recovery, a restore's staged dump. Each names its owner process. A process killed
 * outright (SIGKILL, OOM, power) cannot clean up after itself, and its disposable server keeps
 * running; the next process that makes a scratch folder stops and removes what provably dead
 * owners left (same host, no such pid). Folders without an owner file are never touched.
 */

const OWNER_FILE = '.lifeline-owner.json';

/** A new private folder `<workDir>/<prefix>XXXXXX` owned by this process; stale ones are swept first. */
export async function makeScratchDir(workDir: string, prefix: string): Promise<string> {
  await sweepStaleScratch(workDir).catch(() => undefined); // best effort: never blocks the operation
  let dir: string | undefined;
  try {
    ensureDir(workDir);
    dir = fs.mkdtempSync(path.join(workDir, prefix));
    writeFileAtomic(path.join(dir, OWNER_FILE), `${JSON.stringify({ ...currentProcess(), createdAt: new Date().toISOString() })}\n`);
    return dir;
  } catch (error) {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    throw scratchError(error, workDir, 'making a scratch folder');
  }
}

/** No space in a scratch folder as DISK_FULL, naming the folder and what was being done; other errors pass through. */
export function scratchError(error: unknown, workDir: string, doing: string, hint = 'Free space there, or point LIFELINE_HOME at a larger disk.'): unknown {
  const code = errnoCode(error);
  // A child process writing there (zstd, tar) reports it in its own words.
  const full = code === 'ENOSPC' || code === 'EDQUOT' || /no space left on device|disk quota exceeded/i.test(String((error as Error | undefined)?.message));
  if (!full) return error;
  return new LifelineError('DISK_FULL', `No space left in ${workDir} while ${doing}`, { hint, cause: error });
}

/** Removes the scratch folders of dead owners (stopping any server still running there); returns them. */
export async function sweepStaleScratch(workDir: string): Promise<string[]> {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(workDir, { withFileTypes: true });
  } catch {
    return [];
  }
  const me = currentProcess();
  const removed: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const dir = path.join(workDir, entry.name);
    const owner = readOwner(dir);
    if (!owner || processLiveness(owner, me) !== 'dead') continue;
    for (const clusterDir of [dir, ...subfolders(dir)]) {
      if (!clusterExists(clusterDir)) continue;
      const cluster = await openCluster(clusterDir).catch(() => undefined);
      await cluster?.destroy().catch(() => undefined);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

function readOwner(dir: string): ProcessIdentity | undefined {
  try {
    const owner = JSON.parse(fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8')) as Partial<ProcessIdentity>;
    return typeof owner.pid === 'number' && typeof owner.host === 'string' ? (owner as ProcessIdentity) : undefined;
  } catch {
    return undefined;
  }
}

function subfolders(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => path.join(dir, entry.name));
  } catch {
    return [];
  }
}
