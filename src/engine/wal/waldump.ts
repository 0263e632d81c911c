import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LifelineError } from '../../errors.js';
import { findTool } from '../../postgres/tools.js';
import type { Keyring } from '../../storage/crypto/keys.js';
import type { Store } from '../../storage/store.js';
import type { WalEntry } from './catalog.js';
import { walFetch } from './fetch.js';
import { makeScratchDir } from '../scratch.js';

/** A transaction end record: recovery_target_time stops at the first one later than the target. */
export interface XactEnd {
  at: Date;
  kind: 'commit' | 'abort';
  lsn: string;
}

/**
 * Commit and abort records of one archived segment, with their timestamps, read by the
 * pg_waldump of the cluster's major version (`exact`: it must match the WAL format).
 */
export async function transactionEnds(options: {
  store: Store;
  entry: WalEntry;
  keyring?: Keyring;
  major: number;
  workDir?: string;
  signal?: AbortSignal;
}): Promise<XactEnd[]> {
  const { store, entry, major, signal, keyring } = options;
  const waldump = await findTool('pg_waldump', { major, exact: true });
  const dir = options.workDir ? await makeScratchDir(options.workDir, 'waldump-') : await fs.mkdtemp(path.join(os.tmpdir(), 'lifeline-waldump-'));
  try {
    const fetched = await walFetch({ store, keyring, name: entry.name, dest: path.join(dir, entry.name), signal, attempts: 2 });
    if (!fetched.found) throw new LifelineError('REPO_READ', `${entry.key} vanished while reading it`);
    const { execa } = await import('execa');
    // Only this one segment is there, so pg_waldump ends with "invalid record" at its end (or at
    // a WAL switch): the records before it are what we want, whatever the exit code.
    const result = await execa(waldump.path, ['--path', dir, '--rmgr', 'Transaction', entry.name], {
      reject: false,
      env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' },
      cancelSignal: signal,
      stdin: 'ignore',
    });
    const ends: XactEnd[] = [];
    for (const line of String(result.stdout).split('\n')) {
      const m = /lsn: ([0-9A-F]+\/[0-9A-F]+),.*desc: (COMMIT|ABORT) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (\S+)/.exec(line);
      if (!m) continue;
      const at = parseWaldumpTime(m[3], m[4]);
      if (at) ends.push({ at, kind: m[2] === 'COMMIT' ? 'commit' : 'abort', lsn: m[1] });
    }
    if (ends.length === 0 && !/could not find a valid record|invalid record length|invalid magic|contrecord|error in WAL record|invalid resource manager/i.test(String(result.stderr)) && result.exitCode !== 0) {
      throw new LifelineError('TOOL_FAILED', `pg_waldump could not read ${entry.name}: ${String(result.stderr).trim().split('\n').pop()}`);
    }
    return ends;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** "2026-11-24 22:52:30.123456" printed in UTC (we set TZ=UTC) → Date (milliseconds kept). */
function parseWaldumpTime(text: string, zone: string): Date | undefined {
  if (zone !== 'UTC' && zone !== 'GMT' && zone !== '+00') return undefined;
  const at = new Date(`${text.replace(' ', 'T')}Z`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}
