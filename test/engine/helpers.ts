import { execa, type ResultPromise } from 'execa';
import path from 'node:path';
import readline from 'node:readline';
import { withClient } from '../../src/postgres/client.js';
import type { ConnInfo } from '../../src/postgres/conninfo.js';
import type { Cluster } from '../../src/postgres/cluster.js';
import { dumpedTables, fingerprintTables } from '../../src/engine/backup/fingerprint.js';
import type { TableFingerprint } from '../../src/storage/manifest.js';
import { repoRoot, runCli, type CliResult } from '../helpers/cluster.js';

/** A libpq URL for `user` over the cluster's unix socket (password in the URL: test roles only). */
export function dbUrl(cluster: Cluster, database: string, user = 'postgres', password?: string): string {
  const auth = password ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}` : encodeURIComponent(user);
  return `postgresql://${auth}@/${encodeURIComponent(database)}?host=${encodeURIComponent(cluster.socketDir)}&port=${cluster.port}`;
}

/** Every dumped table's row count and fingerprint, sorted: equal arrays mean equal data. */
export async function fingerprints(conn: ConnInfo): Promise<TableFingerprint[]> {
  return withClient(conn, async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    try {
      return await fingerprintTables(client, await dumpedTables(client));
    } finally {
      await client.query('COMMIT');
    }
  });
}

export async function query<T extends Record<string, unknown> = Record<string, unknown>>(conn: ConnInfo, sql: string, params: unknown[] = []): Promise<T[]> {
  return withClient(conn, async (client) => (await client.query<T>(sql, params)).rows);
}

export async function databases(cluster: Cluster): Promise<string[]> {
  const rows = await query<{ datname: string }>(cluster.conn('postgres'), 'SELECT datname FROM pg_database ORDER BY 1');
  return rows.map((r) => r.datname);
}

/** A CLI bound to one LIFELINE_HOME and one target URL. */
export function cliFor(env: Record<string, string>) {
  return (...args: string[]): Promise<CliResult> => runCli(args, { env });
}

/** The one backup id a `backup --json` run printed. */
export function backupIdOf(result: CliResult): string {
  if (result.exitCode !== 0) throw new Error(`backup failed (${result.exitCode}): ${result.stderr}`);
  return JSON.parse(result.stdout).backup.id as string;
}

export interface SpawnedCli {
  child: ResultPromise;
  stderr: () => string;
  /** Resolves once a stderr line matches; rejects if the process ends first. */
  waitFor(pattern: RegExp): Promise<string>;
}

/** Starts the built CLI without waiting, so a test can signal it at a known point. */
export function spawnCli(args: string[], env: Record<string, string>): SpawnedCli {
  const child = execa(process.execPath, [path.join(repoRoot, 'bin/lifeline.js'), ...args], {
    env: { PATH: process.env.PATH, NO_COLOR: '1', CI: '1', ...env },
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    buffer: false,
  });
  let text = '';
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  readline.createInterface({ input: child.stderr! }).on('line', (line) => {
    text += `${line}\n`;
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  child.stdout?.resume();
  return {
    child,
    stderr: () => text,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const seen = text.split('\n').find((line) => pattern.test(line));
        if (seen) return resolve(seen);
        waiters.push({ pattern, resolve });
        child.then(() => reject(new Error(`process ended before ${pattern}; stderr:\n${text}`)), reject);
      }),
  };
}

/** stdout of a `--json` run, parsed; a failure shows what the CLI said instead. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function jsonOf(result: CliResult): any {
  try {
    return JSON.parse(result.stdout);
  } catch {
    throw new Error(`not JSON (exit ${result.exitCode}): ${result.stdout}\n${result.stderr}`);
  }
}
