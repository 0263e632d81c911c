import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { LifelineError, abortError, errnoCode, throwIfAborted } from '../errors.js';
import { ensureDir, writeFileAtomic } from '../fs-util.js';
import { sandboxRoot, type LifelinePaths } from '../config/paths.js';
import type { ConnInfo } from './conninfo.js';
import { clusterExists, createCluster, openCluster, type Cluster } from './cluster.js';
import { withClient } from './client.js';
import { seedDemoShop, type SeedResult } from './seed.js';

export const SANDBOX_DATABASE = 'shop';

export interface SandboxRef {
  paths: LifelinePaths;
  /** default "default"; others (e.g. "drill-restore") are separate clusters. */
  name?: string;
}

export interface EnsureSandboxOptions extends SandboxRef {
  /** Create and seed the demo shop database on creation (default true). */
  seed?: boolean;
  /** Rows for the demo shop (default ~100 000). */
  rows?: number;
  signal?: AbortSignal;
  onNote?: (text: string) => void;
}

export interface Sandbox {
  name: string;
  dir: string;
  /** Superuser postgres over the unix socket, database shop (or postgres when unseeded). */
  conn: ConnInfo;
  dataDir: string;
  port: number;
  socketDir: string;
  database: string;
  /** postgresql://postgres@127.0.0.1:PORT/shop */
  url: string;
  /** True when this call created the cluster. */
  created: boolean;
  cluster: Cluster;
}

export interface SandboxStatus {
  name: string;
  dir: string;
  exists: boolean;
  running: boolean;
  pid?: number;
  port?: number;
  socketDir?: string;
  dataDir?: string;
  database?: string;
  url?: string;
}

/** lifeline's own notes about a sandbox, next to cluster.json. */
interface SandboxMeta {
  seeded: boolean;
  seededAt?: string;
  rows?: number;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;

export function sandboxDir(ref: SandboxRef): string {
  const name = ref.name ?? 'default';
  if (!NAME.test(name)) {
    throw new LifelineError('USAGE', `Invalid sandbox name "${name}".`, { hint: 'Use lowercase letters, digits, - and _ (at most 40).' });
  }
  return path.join(sandboxRoot(ref.paths), name);
}

/** A URL libpq and node-pg understand; no password needed (the sandbox trusts postgres locally). */
export function sandboxUrl(sandbox: { port: number }, database = SANDBOX_DATABASE): string {
  return `postgresql://postgres@127.0.0.1:${sandbox.port}/${encodeURIComponent(database)}`;
}

/**
 * The sandbox cluster, created (and seeded with the demo shop) if missing and started if stopped.
 * Safe to call from several processes at once: they take turns on a lock file.
 */
export async function ensureSandbox(options: EnsureSandboxOptions): Promise<Sandbox> {
  const name = options.name ?? 'default';
  const dir = sandboxDir(options);
  const wantSeed = options.seed ?? true;
  ensureDir(sandboxRoot(options.paths));
  return withLock(`${dir}.lock`, options.signal, async () => {
    let created = false;
    let cluster: Cluster;
    if (clusterExists(dir)) {
      cluster = await openCluster(dir);
      if (!(await cluster.isRunning())) {
        options.onNote?.(`starting sandbox "${name}" (${cluster.dataDir})`);
        await cluster.start({ signal: options.signal });
      }
    } else {
      // A folder without cluster.json is a creation that never finished: start over.
      if (fs.existsSync(dir)) await fs.promises.rm(dir, { recursive: true, force: true });
      options.onNote?.(`creating sandbox "${name}" in ${dir}`);
      cluster = await createCluster({ dir, signal: options.signal, onNote: options.onNote });
      created = true;
    }
    const meta = readMeta(dir);
    let database = 'postgres';
    if (wantSeed || meta.seeded) {
      database = SANDBOX_DATABASE;
      const exists = await databaseExists(cluster, SANDBOX_DATABASE);
      if (!meta.seeded || !exists) {
        if (meta.seeded) options.onNote?.(`database ${SANDBOX_DATABASE} was missing from sandbox "${name}": creating it again`);
        options.onNote?.(`seeding the demo shop in sandbox "${name}"`);
        await resetShop(cluster, { rows: options.rows, signal: options.signal });
      }
    }
    return describe(name, dir, cluster, database, created);
  });
}

/** Drops and re-creates the sandbox's shop database with fresh demo data. */
export async function reseedSandbox(options: EnsureSandboxOptions): Promise<Sandbox & { seed: SeedResult }> {
  const sandbox = await ensureSandbox({ ...options, seed: false });
  const seed = await withLock(`${sandbox.dir}.lock`, options.signal, () =>
    resetShop(sandbox.cluster, { rows: options.rows, signal: options.signal }),
  );
  return { ...describe(sandbox.name, sandbox.dir, sandbox.cluster, SANDBOX_DATABASE, sandbox.created), seed };
}

export async function sandboxStatus(ref: SandboxRef): Promise<SandboxStatus> {
  const name = ref.name ?? 'default';
  const dir = sandboxDir(ref);
  if (!clusterExists(dir)) return { name, dir, exists: false, running: false };
  const cluster = await openCluster(dir);
  const status = await cluster.status();
  const database = readMeta(dir).seeded ? SANDBOX_DATABASE : 'postgres';
  return {
    name,
    dir,
    exists: true,
    running: status.running,
    ...(status.pid !== undefined ? { pid: status.pid } : {}),
    port: cluster.port,
    socketDir: cluster.socketDir,
    dataDir: cluster.dataDir,
    database,
    url: sandboxUrl(cluster, database),
  };
}

/** Stops the sandbox's server (fast shutdown). Returns whether it was running. */
export async function stopSandbox(ref: SandboxRef & { signal?: AbortSignal }): Promise<{ existed: boolean; wasRunning: boolean }> {
  const dir = sandboxDir(ref);
  if (!clusterExists(dir)) return { existed: false, wasRunning: false };
  return withLock(`${dir}.lock`, ref.signal, async () => {
    const cluster = await openCluster(dir);
    const wasRunning = await cluster.isRunning();
    await cluster.stop({ mode: 'fast', signal: ref.signal });
    return { existed: true, wasRunning };
  });
}

/** Stops the sandbox and removes its folder. */
export async function destroySandbox(ref: SandboxRef & { signal?: AbortSignal }): Promise<{ existed: boolean }> {
  const dir = sandboxDir(ref);
  if (!fs.existsSync(dir)) return { existed: false };
  return withLock(`${dir}.lock`, ref.signal, async () => {
    if (clusterExists(dir)) await (await openCluster(dir)).destroy();
    else await fs.promises.rm(dir, { recursive: true, force: true });
    return { existed: true };
  });
}

/** Every sandbox folder under the sandbox root (for listing and cleanup). */
export function listSandboxes(paths: LifelinePaths): string[] {
  try {
    return fs
      .readdirSync(sandboxRoot(paths), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && NAME.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}

function describe(name: string, dir: string, cluster: Cluster, database: string, created: boolean): Sandbox {
  return {
    name,
    dir,
    conn: cluster.conn(database),
    dataDir: cluster.dataDir,
    port: cluster.port,
    socketDir: cluster.socketDir,
    database,
    url: sandboxUrl(cluster, database),
    created,
    cluster,
  };
}

async function resetShop(cluster: Cluster, options: { rows?: number; signal?: AbortSignal }): Promise<SeedResult> {
  const dir = cluster.dir;
  writeMeta(dir, { seeded: false });
  await withClient(
    cluster.conn('postgres'),
    async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${SANDBOX_DATABASE} WITH (FORCE)`);
      await client.query(`CREATE DATABASE ${SANDBOX_DATABASE}`);
    },
    { signal: options.signal },
  );
  const seed = await seedDemoShop(cluster.conn(SANDBOX_DATABASE), options);
  writeMeta(dir, { seeded: true, seededAt: new Date().toISOString(), rows: seed.total });
  return seed;
}

async function databaseExists(cluster: Cluster, name: string): Promise<boolean> {
  return withClient(cluster.conn('postgres'), async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return (rowCount ?? 0) > 0;
  });
}

function metaFile(dir: string): string {
  return path.join(dir, 'sandbox.json');
}

function readMeta(dir: string): SandboxMeta {
  try {
    return JSON.parse(fs.readFileSync(metaFile(dir), 'utf8')) as SandboxMeta;
  } catch {
    return { seeded: false };
  }
}

function writeMeta(dir: string, meta: SandboxMeta): void {
  writeFileAtomic(metaFile(dir), `${JSON.stringify(meta, null, 2)}\n`);
}

/**
 * A lock file holding the owner's PID. A lock whose owner is gone (crash, kill -9) is taken over;
 * a live owner is waited for, up to two minutes (creating and seeding takes a few seconds).
 */
async function withLock<T>(file: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    throwIfAborted(signal);
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      break;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
    let text: string;
    let mtimeMs: number;
    try {
      text = fs.readFileSync(file, 'utf8').trim();
      mtimeMs = fs.statSync(file).mtimeMs;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') continue;
      throw error;
    }
    const owner = Number(text);
    // An empty file is a lock being written right now, unless it has stayed empty for a while.
    const stale = !text ? Date.now() - mtimeMs > 5_000 : owner === process.pid ? !heldLocks.has(file) : !pidAlive(owner);
    if (stale) {
      fs.rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new LifelineError('SANDBOX', `Another lifeline process (PID ${owner}) is still busy with the sandbox.`, {
        hint: `Wait for it to finish, or remove ${file} if that process is gone.`,
      });
    }
    try {
      await delay(100, undefined, { signal });
    } catch {
      throw abortError(signal);
    }
  }
  heldLocks.add(file);
  try {
    return await fn();
  } finally {
    heldLocks.delete(file);
    fs.rmSync(file, { force: true });
  }
}

/** Locks this process holds: a lock file naming our own PID but not in here is a stale leftover. */
const heldLocks = new Set<string>();

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}
