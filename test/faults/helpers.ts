import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import type { ConnInfo } from '../../src/postgres/conninfo.js';
import { archiveCommand } from '../../src/engine/wal/command.js';
import { shareRepositoryWithServer } from '../../src/engine/wal/archiving.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { TEMP_PREFIX } from '../../src/storage/store.js';
import { openRepository } from '../../src/storage/open-repository.js';
import type { Repository } from '../../src/storage/repository.js';
import { checkIntegrity } from '../../src/engine/verify/integrity.js';
import { runCli, startTestCluster, tempHome, type CliResult, type TempHome, type TestCluster } from '../helpers/cluster.js';
import { dbUrl, spawnCli, type SpawnedCli } from '../engine/helpers.js';

/*
 * The fault-injection suite (issue #9): every case ends with the same three promises.
 *   1. nothing lost: the backups taken before the fault still verify (and restore where it matters);
 *   2. the repository is consistent: `list --json` shows exactly the complete backups and no
 *      problems, and no temp object of an unfinished put is left visible;
 *   3. a clear error: one `error:` line, a `hint:` line, the right exit code, no stack trace.
 */

/** mulberry32: a small seeded PRNG, so a failing random case reruns with FAULT_SEED=<seed>. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FAULT_SEED from the environment, or a fresh one (shown in the test name). */
export function faultSeed(): number {
  const given = Number(process.env.FAULT_SEED);
  return Number.isInteger(given) && given > 0 ? given : 1 + Math.floor(Math.random() * 1e9);
}

/** Polls `condition` (a quick check, no sleeping in the tests themselves) until it holds. */
export async function waitUntil<T>(condition: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Every file under `dir` (relative), hidden ones included. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** The size of the temp file an unfinished put is writing under `dir` (0 while there is none). */
export function tempBytes(dir: string): number {
  let total = 0;
  for (const file of filesUnder(dir)) {
    if (path.basename(file).startsWith(TEMP_PREFIX)) total += fs.statSync(path.join(dir, file), { throwIfNoEntry: false })?.size ?? 0;
  }
  return total;
}

/** Child processes (pid, command name) of `parent`, read from /proc (quicker than ps). */
export function childrenOf(parent: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split at the last ')'.
    const close = stat.lastIndexOf(')');
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    if (ppid === parent) out.push({ pid: Number(entry), comm: stat.slice(stat.indexOf('(') + 1, close) });
  }
  return out;
}

/** The argv of a process (empty once it is gone). */
export function argvOf(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * The pid of the tool `comm` started by `parent` for real work (not a `--version` probe, nor
 * the `pg_restore --list` that reads the dump's table of contents before a restore), stopped
 * (SIGSTOP) as soon as it is seen.
 */
export async function catchTool(parent: number, comm: string, exited: () => boolean): Promise<number> {
  const pid = await waitUntil(() => {
    if (exited()) throw new Error(`the command ended before ${comm} was seen`);
    // A zombie (an exited --version probe) has an empty argv.
    return childrenOf(parent).find((c) => {
      const argv = c.comm === comm ? argvOf(c.pid) : [];
      return argv.length > 1 && !argv.includes('--version') && !argv.includes('--list');
    })?.pid;
  }, `${comm} to start`);
  process.kill(pid, 'SIGSTOP');
  return pid;
}

/** Bytes a process has written (wchar) or read (rchar) so far, from /proc/<pid>/io; undefined once gone. */
export function ioBytes(pid: number, field: 'wchar' | 'rchar'): number | undefined {
  try {
    const io = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
    return Number(new RegExp(`^${field}: (\\d+)`, 'm').exec(io)?.[1] ?? 0);
  } catch {
    return undefined;
  }
}

/** A process's state (R running, S sleeping, T stopped, Z exited) and parent, from /proc; undefined once gone. */
function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Lets a stopped tool run until it has moved `threshold` bytes, and leaves it stopped there. The
 * tool and the rest of its pipeline (the lifeline process that started it and that process's
 * other children) take turns: while the tool runs, the rest is stopped, so the tool can only
 * drain or fill the pipe buffers between them before it blocks; it can never race to its end
 * while the test is not looking, however the machine schedules us. Nothing sleeps for a fixed
 * time: the tool's turn lasts until it waits (on its pipe or the server), the rest's until all
 * of it waits.
 */
export async function runUntilBytes(pid: number, field: 'wchar' | 'rchar', threshold: number): Promise<number> {
  const deadline = Date.now() + 60_000;
  const parent = procStat(pid)?.ppid;
  const rest = () => (parent ? [parent, ...childrenOf(parent).map((c) => c.pid).filter((p) => p !== pid)] : []);
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  for (;;) {
    const moved = ioBytes(pid, field);
    if (moved === undefined || !alive(pid)) throw new Error(`process ${pid} ended before ${threshold} bytes`);
    if (moved >= threshold) return moved;
    if (Date.now() > deadline) throw new Error(`process ${pid} made no progress past ${moved} bytes`);
    const others = rest();
    signalAll(others, 'SIGSTOP');
    process.kill(pid, 'SIGCONT');
    for (;;) {
      await tick();
      const state = procStat(pid)?.state;
      if (state === undefined || state === 'Z' || state === 'S') break;
      if ((ioBytes(pid, field) ?? 0) >= threshold || Date.now() > deadline) break;
    }
    signalAll([pid], 'SIGSTOP');
    signalAll(others, 'SIGCONT');
    while (!others.every((other) => ['S', 'Z', undefined].includes(procStat(other)?.state)) && Date.now() < deadline) await tick();
  }
}

/** runUntilBytes, then SIGKILL. */
export async function killAfterBytes(pid: number, field: 'wchar' | 'rchar', threshold: number): Promise<number> {
  const moved = await runUntilBytes(pid, field, threshold);
  process.kill(pid, 'SIGKILL');
  return moved;
}

/** Whether a process exists (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A CLI run whose `comm` tool is caught (stopped) as soon as it starts. */
export async function spawnAndCatch(env: FaultEnv, args: string[], comm: string): Promise<{ run: FaultRun; pid: number; exited: () => boolean }> {
  const run = env.spawn(...args);
  let done = false;
  void run.child.then(() => (done = true));
  const pid = await catchTool(run.child.pid!, comm, () => done);
  return { run, pid, exited: () => done };
}

/** The exit code and output of a spawned run, once it ends. */
export async function outcome(run: FaultRun): Promise<CliResult> {
  const result = await run.child;
  return { exitCode: result.exitCode ?? -1, stdout: run.stdout(), stderr: run.stderr() };
}

/** Archived WAL segment names (without extension) in a local repository. */
export function archivedSegments(repo: string): string[] {
  return filesUnder(path.join(repo, 'wal')).map((f) => path.basename(f).replace(/\.(zst|gz)$/, '')).filter((name) => /^[0-9A-F]{24}$/.test(name));
}

/** Commits something, switches WAL and waits until that segment is archived; returns its name. */
export async function switchAndArchive(env: FaultEnv): Promise<string> {
  const segment = await withClient(env.pg.conn('postgres'), async (c) => {
    await c.query('CREATE TABLE IF NOT EXISTS wal_marker (at timestamptz); INSERT INTO wal_marker VALUES (now())');
    return (await c.query<{ file: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS file')).rows[0].file;
  });
  await waitUntil(() => archivedSegments(env.repo).includes(segment), `${segment} to be archived`);
  return segment;
}

/** The current time on the server, as UTC ISO with microseconds (a PITR target). */
export async function serverNow(conn: ConnInfo): Promise<string> {
  return withClient(conn, async (c) => (await c.query<{ t: string }>(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t`)).rows[0].t);
}

/** Promise 3: one `error:` line naming what happened, a `hint:` line, the exit code, no stack trace. */
export function expectClearError(result: CliResult, exitCode: number, message: RegExp): void {
  const context = `exit ${result.exitCode}\n${result.stderr}`;
  expect(result.exitCode, context).toBe(exitCode);
  const errors = result.stderr.split('\n').filter((line) => line.startsWith('error: '));
  expect(errors, context).toHaveLength(1);
  expect(errors[0], context).toMatch(message);
  expect(result.stderr, context).toMatch(/^hint: \S/m);
  expect(result.stderr, context).not.toMatch(/internal error|\n\s+at .*\(.*:\d+:\d+\)/);
}

/** A CLI started without waiting; stdout is collected too. */
export type FaultRun = SpawnedCli & { stdout(): string };

export interface FaultEnv {
  pg: TestCluster;
  home: TempHome;
  /** The repository folder (or s3:// URL) every command uses. */
  repo: string;
  /** The target database URL. */
  url: string;
  conn: ConnInfo;
  env: Record<string, string>;
  cli(...args: string[]): Promise<CliResult>;
  spawn(...args: string[]): FaultRun;
  /** `backup --json`, returning the id (throws when it fails). */
  backup(...args: string[]): Promise<string>;
  cleanup(): Promise<void>;
}

/**
 * A cluster with a `shop` database, a LIFELINE_HOME and a repository, all bound together for the
 * CLI. `archiving` turns WAL archiving into the repository on (physical backups, PITR). `fill`
 * adds a table of random text of about that many MB, so tools run long enough to be hit mid-way.
 */
export async function startFaultEnv(options: { archiving?: boolean; fillMb?: number; repo?: string; env?: Record<string, string> } = {}): Promise<FaultEnv> {
  const home = await tempHome();
  const base = fs.mkdtempSync(path.join('/tmp', 'lifeline-faults-'));
  const repo = options.repo ?? path.join(base, 'repo');
  let pg: TestCluster | undefined;
  try {
    if (options.archiving && !repo.startsWith('s3://')) await shareRepositoryWithServer(new LocalStore({ root: repo }), repo);
    pg = await startTestCluster({
      settings: options.archiving ? { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand({ repo }), max_wal_senders: 4 } : {},
    });
    const conn = pg.conn('shop');
    await withClient(pg.conn('postgres'), (c) => c.query('CREATE DATABASE shop'));
    await withClient(conn, async (c) => {
      await c.query(`CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
                     INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 1000) g;
                     CREATE TABLE orders (id int PRIMARY KEY, customer int NOT NULL REFERENCES customers, total numeric NOT NULL);
                     INSERT INTO orders SELECT g, 1 + g % 1000, g * 1.5 FROM generate_series(1, 5000) g;`);
      if (options.fillMb) {
        // md5 text compresses about 2:1: big enough for a tool to be caught mid-stream.
        const rows = Math.round((options.fillMb * 1024 * 1024) / 330);
        await c.query(`CREATE TABLE notes (id int PRIMARY KEY, body text);
                       INSERT INTO notes SELECT g, ${Array(10).fill('md5(random()::text)').join(' || ')} FROM generate_series(1, ${rows}) g;`);
      }
    });
    const url = dbUrl(pg, 'shop');
    const env = { ...home.env, LIFELINE_DB: url, LIFELINE_REPO: repo, LIFELINE_OPERATOR: 'fault-bot', ...options.env };
    const cli = (...args: string[]) => runCli(args, { env, timeoutMs: 120_000 });
    const started = pg;
    return {
      pg,
      home,
      repo,
      url,
      conn,
      env,
      cli,
      spawn: (...args: string[]) => {
        const run = spawnCli(args, env);
        let stdout = '';
        run.child.stdout?.on('data', (data: Buffer) => (stdout += String(data)));
        return { ...run, stdout: () => stdout };
      },
      async backup(...args: string[]) {
        const result = await cli('--json', 'backup', ...args);
        if (result.exitCode !== 0) throw new Error(`backup ${args.join(' ')} failed (${result.exitCode}): ${result.stderr}`);
        return JSON.parse(result.stdout).backup.id as string;
      },
      async cleanup() {
        await home.cleanup();
        await started.cleanup();
        fs.rmSync(base, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await pg?.cleanup();
    await home.cleanup();
    fs.rmSync(base, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Promises 1 and 2: `lifeline list --json` shows exactly `ids` and no problems; each of them passes
 * the integrity level (every object re-read and hashed; run in-process, the same engine code as
 * `verify --level integrity`, to keep the suite fast); no temp object of an unfinished put is left
 * in a local repository. `repo` overrides the environment's repository (e.g. an S3 store).
 */
export async function expectConsistent(env: FaultEnv, ids: string[], options: { url?: string; repository?: Repository } = {}): Promise<void> {
  const url = options.url ?? env.repo;
  const list = await env.cli('--repo', url, '--json', 'list');
  expect(list.exitCode, list.stderr).toBe(0);
  const listed = JSON.parse(list.stdout) as { backups: { id: string; startedAt: string }[]; problems?: unknown[] };
  expect(listed.backups.map((b) => b.id).sort(), JSON.stringify(listed.backups.map((b) => [b.id, b.startedAt]))).toEqual([...ids].sort());
  expect(listed.problems ?? []).toEqual([]);
  const repository = options.repository ?? (await openRepository(url));
  for (const id of ids) {
    const checks = await checkIntegrity({ repo: repository, manifest: await repository.readManifest(id) });
    expect(checks.filter((c) => !c.ok), `integrity of ${id}`).toEqual([]);
  }
  if (!url.startsWith('s3://')) {
    expect(filesUnder(url).filter((file) => path.basename(file).startsWith(TEMP_PREFIX))).toEqual([]);
  }
}

/** Row count of a table, for "the target is untouched". */
export async function count(conn: ConnInfo, table: string): Promise<number> {
  return withClient(conn, async (c) => Number((await c.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n));
}

export async function databaseNames(pg: TestCluster): Promise<string[]> {
  return withClient(pg.conn('postgres'), async (c) => (await c.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY 1')).rows.map((r) => r.datname));
}
