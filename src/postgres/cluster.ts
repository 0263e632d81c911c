import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LifelineError, abortError, errnoCode, throwIfAborted } from '../errors.js';
import { ensureDir, writeFileAtomic } from '../fs-util.js';
import type { ConnInfo } from './conninfo.js';
import { chownToServerUser, ensureTraversable, runAsServerUser, serverUser } from './server-user.js';
import { findTool } from './tools.js';

export type SettingValue = string | number | boolean;
export type Settings = Record<string, SettingValue>;
export type StopMode = 'smart' | 'fast' | 'immediate';

export interface CreateClusterOptions {
  /** The cluster's folder: cluster.json, data/, log/ and (when short enough) the socket folder. */
  dir: string;
  /** A fixed TCP port; by default a free one is picked (and re-picked if taken at a later start). */
  port?: number;
  /** Extra postgresql.conf settings (written to postgresql.auto.conf). */
  settings?: Settings;
  /** PostgreSQL major to use; default the newest installed. */
  major?: number;
  /**
   * Use an existing data directory (e.g. an extracted base backup) instead of running initdb.
   * It is given to the server user; its pg_hba.conf is left alone.
   */
  adoptDataDir?: string;
  /**
   * "lifeline" writes our pg_hba.conf (postgres trusted locally, passwords for everyone else);
   * "keep" leaves the data directory's own. Default: "lifeline" for a new cluster, "keep" when adopting.
   */
  hba?: 'lifeline' | 'keep';
  /** Start the server at the end (default true). */
  start?: boolean;
  signal?: AbortSignal;
  onNote?: (text: string) => void;
}

export interface ClusterStatus {
  running: boolean;
  pid?: number;
  port: number;
  dataDir: string;
  socketDir: string;
}

/** What <dir>/cluster.json keeps between processes. */
interface ClusterState {
  formatVersion: 1;
  major: number;
  bindir: string;
  dataDir: string;
  socketDir: string;
  port: number;
  fixedPort: boolean;
  logFile: string;
  createdAt: string;
}

const STATE_FILE = 'cluster.json';
/** sun_path holds 108 bytes on Linux and 104 on macOS, NUL included; keep well below both. */
const MAX_SOCKET_PATH = 100;
const SOCKET_NAME_MAX = '/.s.PGSQL.65535.lock'.length;
const START_ATTEMPTS = 5;

const HBA = `# lifeline disposable cluster: the postgres superuser is trusted locally; every other role
# must give its password (so wrong-password handling can be exercised with ordinary roles).
# TYPE  DATABASE     USER      ADDRESS        METHOD
local   all          postgres                 trust
local   replication  postgres                 trust
host    all          postgres  127.0.0.1/32   trust
host    replication  postgres  127.0.0.1/32   trust
local   all          all                      scram-sha-256
local   replication  all                      scram-sha-256
host    all          all       127.0.0.1/32   scram-sha-256
host    replication  all       127.0.0.1/32   scram-sha-256
`;

/**
 * A local PostgreSQL cluster lifeline owns: the sandbox, drill restores, tests. Server programs run
 * as the `postgres` user when we are root. The same code serves `lifeline sandbox` and the tests.
 */
export class Cluster {
  readonly dir: string;
  private state: ClusterState;

  private constructor(dir: string, state: ClusterState) {
    this.dir = dir;
    this.state = state;
  }

  get dataDir(): string {
    return this.state.dataDir;
  }
  get socketDir(): string {
    return this.state.socketDir;
  }
  get port(): number {
    return this.state.port;
  }
  get major(): number {
    return this.state.major;
  }
  get bindir(): string {
    return this.state.bindir;
  }
  get logFile(): string {
    return this.state.logFile;
  }

  /** Superuser `postgres` through the unix socket. */
  conn(database = 'postgres'): ConnInfo {
    return { host: this.socketDir, port: this.port, user: 'postgres', database, params: {} };
  }

  /** Superuser `postgres` over TCP on 127.0.0.1 (what a URL for other programs names). */
  tcpConn(database = 'postgres'): ConnInfo {
    return { host: '127.0.0.1', port: this.port, user: 'postgres', database, params: {} };
  }

  /** @internal */
  static async create(options: CreateClusterOptions): Promise<Cluster> {
    const { signal, onNote } = options;
    throwIfAborted(signal);
    const dir = path.resolve(options.dir);
    if (fs.existsSync(path.join(dir, STATE_FILE))) {
      throw new LifelineError('SANDBOX', `A cluster already exists in ${dir}.`, { hint: 'Open it instead, or destroy it first.' });
    }
    const user = await serverUser();
    ensureDir(dir);
    // The server user must pass through our folder to reach its own; it needs no more than that.
    if (user.switched) fs.chmodSync(dir, 0o711);
    const changed = await ensureTraversable(dir);
    if (changed.length) onNote?.(`made ${changed.join(', ')} searchable (o+x) so the ${user.name} user can reach ${dir}`);

    const dataDir = options.adoptDataDir ? path.resolve(options.adoptDataDir) : path.join(dir, 'data');
    const logDir = path.join(dir, 'log');
    ensureDir(logDir);
    await chownToServerUser(logDir);
    const socketDir = await makeSocketDir(dir);

    let major: number;
    let bindir: string;
    if (options.adoptDataDir) {
      major = readDataDirMajor(dataDir);
      if (options.major !== undefined && options.major !== major) {
        throw new LifelineError('SANDBOX', `${dataDir} holds PostgreSQL ${major}, not ${options.major}.`);
      }
      fs.chmodSync(dataDir, 0o700);
      await chownToServerUser(dataDir, { recursive: true });
      if (dataDir !== path.join(dir, 'data')) await ensureTraversable(path.dirname(dataDir));
      bindir = (await findTool('pg_ctl', { major, exact: true })).bindir;
      if (options.hba === 'lifeline') await writeServerFile(path.join(dataDir, 'pg_hba.conf'), HBA);
    } else {
      const initdb = await findTool('initdb', options.major === undefined ? {} : { major: options.major, exact: true });
      major = initdb.version.major;
      bindir = initdb.bindir;
      ensureDir(dataDir);
      await chownToServerUser(dataDir);
      await runInitdb(initdb.path, dataDir, signal);
      if (options.hba !== 'keep') await writeServerFile(path.join(dataDir, 'pg_hba.conf'), HBA);
    }

    const state: ClusterState = {
      formatVersion: 1,
      major,
      bindir,
      dataDir,
      socketDir,
      port: options.port ?? (await freePort()),
      fixedPort: options.port !== undefined,
      logFile: path.join(logDir, 'postgres.log'),
      createdAt: new Date().toISOString(),
    };
    const cluster = new Cluster(dir, state);
    await cluster.configure({ listen_addresses: '127.0.0.1', ...options.settings });
    cluster.save();
    if (options.start ?? true) await cluster.start({ signal });
    return cluster;
  }

  /** @internal */
  static async open(dir: string): Promise<Cluster> {
    const resolved = path.resolve(dir);
    let state: ClusterState;
    try {
      state = JSON.parse(fs.readFileSync(path.join(resolved, STATE_FILE), 'utf8')) as ClusterState;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') {
        throw new LifelineError('SANDBOX', `No lifeline cluster in ${resolved}.`, { hint: 'Create it first (lifeline sandbox up).' });
      }
      throw new LifelineError('SANDBOX', `Cannot read ${path.join(resolved, STATE_FILE)}: ${(error as Error).message}`, {
        hint: 'Destroy the cluster folder and create it again.',
      });
    }
    if (!fs.existsSync(path.join(state.dataDir, 'PG_VERSION'))) {
      throw new LifelineError('SANDBOX', `The cluster in ${resolved} has no data directory (${state.dataDir}).`, {
        hint: 'Destroy it and create it again.',
      });
    }
    return new Cluster(resolved, state);
  }

  private save(): void {
    writeFileAtomic(path.join(this.dir, STATE_FILE), `${JSON.stringify(this.state, null, 2)}\n`);
  }

  private async pgCtl(): Promise<string> {
    const candidate = path.join(this.state.bindir, 'pg_ctl');
    if (fs.existsSync(candidate)) return candidate;
    const tool = await findTool('pg_ctl', { major: this.state.major, exact: true });
    this.state.bindir = tool.bindir;
    this.save();
    return tool.path;
  }

  /**
   * Merges settings into postgresql.auto.conf (the file ALTER SYSTEM keeps, read last). Takes
   * effect at the next start or reload, depending on the setting.
   */
  async configure(settings: Settings): Promise<void> {
    const file = path.join(this.dataDir, 'postgresql.auto.conf');
    let current = '';
    try {
      current = fs.readFileSync(file, 'utf8');
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
    const keys = new Set(Object.keys(settings).map((k) => k.toLowerCase()));
    const kept = current.split('\n').filter((line) => {
      const key = /^\s*([A-Za-z_.][\w.]*)\s*=?/.exec(line)?.[1]?.toLowerCase();
      return line.trim() !== '' && !(key && keys.has(key));
    });
    if (!kept.some((line) => line.startsWith('#'))) kept.unshift('# Do not edit this file manually!', '# It will be overwritten by the ALTER SYSTEM command.');
    const added = Object.entries(settings).map(([key, value]) => `${key} = ${quoteSetting(value)}`);
    await writeServerFile(file, `${[...kept, ...added].join('\n')}\n`);
  }

  async status(): Promise<ClusterStatus> {
    const base = { port: this.port, dataDir: this.dataDir, socketDir: this.socketDir };
    const pid = postmasterPid(this.dataDir);
    return pid === undefined ? { running: false, ...base } : { running: true, pid, ...base };
  }

  async isRunning(): Promise<boolean> {
    return (await this.status()).running;
  }

  /**
   * Starts the server and waits (default up to 60 s) until it accepts connections; a server in
   * recovery counts as started once it accepts read-only ones. A no-op when it is running.
   */
  async start(options: { signal?: AbortSignal; timeoutSeconds?: number } = {}): Promise<void> {
    const { signal } = options;
    const timeout = String(options.timeoutSeconds ?? 60);
    if (await this.isRunning()) return;
    const pgCtl = await this.pgCtl();
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(signal);
      await this.ensureSocketDir();
      await this.configure({ port: this.port, unix_socket_directories: this.socketDir });
      const logStart = fileSize(this.logFile);
      const result = await runAsServerUser(pgCtl, ['-w', '-t', timeout, '-D', this.dataDir, '-l', this.logFile, 'start'], {
        cwd: this.dataDir,
        cancelSignal: signal,
        // Its own process group: a Ctrl-C meant for lifeline must not reach the postmaster.
        detached: true,
        stdout: 'pipe',
        stderr: 'pipe',
      });
      if (result.isCanceled || signal?.aborted) {
        await this.stop({ mode: 'immediate' }).catch(() => undefined);
        throw abortError(signal);
      }
      if (result.exitCode === 0 && postmasterPid(this.dataDir) !== undefined) return;
      const log = readFrom(this.logFile, logStart);
      const portTaken = /could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(log);
      if (portTaken && !this.state.fixedPort && attempt < START_ATTEMPTS) {
        this.state.port = await freePort();
        this.save();
        continue;
      }
      const tail = lastLines(`${log}\n${String(result.stderr)}`, 12);
      throw new LifelineError('SANDBOX', `The PostgreSQL server in ${this.dataDir} did not start:\n${tail}`, {
        hint: portTaken ? `Port ${this.port} is in use: free it or pick another port.` : `Full log: ${this.logFile}`,
      });
    }
  }

  /** Stops the server (fast by default: ends sessions, checkpoints). A no-op when it is stopped. */
  async stop(options: { mode?: StopMode; signal?: AbortSignal } = {}): Promise<void> {
    if (!(await this.isRunning())) return;
    const pgCtl = await this.pgCtl();
    const result = await runAsServerUser(pgCtl, ['-w', '-t', '60', '-D', this.dataDir, '-m', options.mode ?? 'fast', 'stop'], {
      cwd: this.dataDir,
      cancelSignal: options.signal,
      stdout: 'pipe',
      stderr: 'pipe',
    });
    if (result.isCanceled) throw abortError(options.signal);
    if (result.exitCode !== 0 && (await this.isRunning())) {
      throw new LifelineError('SANDBOX', `pg_ctl could not stop the server in ${this.dataDir}: ${lastLines(String(result.stderr), 3)}`, {
        hint: 'Try again with the immediate mode, or look at the server log.',
      });
    }
  }

  async restart(options: { mode?: StopMode; signal?: AbortSignal; timeoutSeconds?: number } = {}): Promise<void> {
    await this.stop(options);
    await this.start(options);
  }

  /** Re-reads the configuration files (pg_hba.conf, reloadable settings). */
  async reload(): Promise<void> {
    if (!(await this.isRunning())) return;
    const result = await runAsServerUser(await this.pgCtl(), ['-D', this.dataDir, 'reload'], { cwd: this.dataDir, stdout: 'pipe', stderr: 'pipe' });
    if (result.exitCode !== 0) {
      throw new LifelineError('SANDBOX', `pg_ctl reload failed: ${lastLines(String(result.stderr), 3)}`);
    }
  }

  /** Stops the server at once and removes every file of the cluster. */
  async destroy(): Promise<void> {
    if (fs.existsSync(this.dataDir)) await this.stop({ mode: 'immediate' });
    if (!isInside(this.socketDir, this.dir)) await fs.promises.rm(this.socketDir, { recursive: true, force: true });
    if (!isInside(this.dataDir, this.dir)) await fs.promises.rm(this.dataDir, { recursive: true, force: true });
    await fs.promises.rm(this.dir, { recursive: true, force: true });
  }

  /** The socket folder may vanish (a reboot cleaning /tmp): make it again, privately. */
  private async ensureSocketDir(): Promise<void> {
    try {
      const stat = fs.statSync(this.socketDir);
      const user = await serverUser();
      if (stat.isDirectory() && stat.uid === user.uid) return;
      // Someone else's folder now holds that name: never put our socket there.
      this.state.socketDir = await makeSocketDir(this.dir, true);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
      // Inside our folder we can make it again; a shared temp name is never reused (someone
      // else could have taken it meanwhile), we make a fresh one instead.
      if (isInside(this.socketDir, this.dir)) {
        ensureDir(this.socketDir);
        await chownToServerUser(this.socketDir);
      } else {
        this.state.socketDir = await makeSocketDir(this.dir, true);
      }
    }
    this.save();
  }
}

export function createCluster(options: CreateClusterOptions): Promise<Cluster> {
  return Cluster.create(options);
}

/** Re-attaches to a cluster created earlier (by this or another process). */
export function openCluster(dir: string): Promise<Cluster> {
  return Cluster.open(dir);
}

/** Whether `dir` holds a lifeline cluster (its cluster.json). */
export function clusterExists(dir: string): boolean {
  return fs.existsSync(path.join(dir, STATE_FILE));
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `<dir>/run` when the socket path fits in sun_path, else a short private folder in the temp dir. */
async function makeSocketDir(dir: string, forceTemp = false): Promise<string> {
  const local = path.join(dir, 'run');
  if (!forceTemp && Buffer.byteLength(local) + SOCKET_NAME_MAX <= MAX_SOCKET_PATH) {
    ensureDir(local);
    await chownToServerUser(local);
    return local;
  }
  let base = os.tmpdir();
  if (Buffer.byteLength(base) + '/lifeline-XXXXXX'.length + SOCKET_NAME_MAX > MAX_SOCKET_PATH) base = '/tmp';
  const made = await fs.promises.mkdtemp(path.join(base, 'lifeline-'));
  fs.chmodSync(made, 0o700);
  await chownToServerUser(made);
  return made;
}

async function runInitdb(initdb: string, dataDir: string, signal?: AbortSignal): Promise<void> {
  let lastOutput = '';
  // C.UTF-8 is missing on some systems (older macOS): plain C with UTF8 encoding is equivalent here.
  for (const locale of ['C.UTF-8', 'C']) {
    const result = await runAsServerUser(
      initdb,
      ['--no-sync', '--no-instructions', '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', `--locale=${locale}`, '-D', dataDir],
      { cwd: dataDir, cancelSignal: signal, stdout: 'pipe', stderr: 'pipe', env: { ...process.env, LC_ALL: undefined, LANG: undefined } },
    );
    if (result.isCanceled || signal?.aborted) throw abortError(signal);
    if (result.exitCode === 0) return;
    lastOutput = `${String(result.stderr)}\n${String(result.stdout)}`;
    if (!/locale/i.test(lastOutput)) break;
    // initdb removes what it created, but leaves the folder we made: empty it for the retry.
    for (const entry of fs.readdirSync(dataDir)) fs.rmSync(path.join(dataDir, entry), { recursive: true, force: true });
  }
  throw new LifelineError('SANDBOX', `initdb failed in ${dataDir}:\n${lastLines(lastOutput, 8)}`, {
    hint: 'Check free disk space and that the postgres user can write there.',
  });
}

/** Writes a file in the data directory, owned by the server user, private. */
async function writeServerFile(file: string, text: string): Promise<void> {
  writeFileAtomic(file, text, 0o600);
  await chownToServerUser(file);
}

function quoteSetting(value: SettingValue): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function readDataDirMajor(dataDir: string): number {
  try {
    const text = fs.readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim();
    const major = Number(text.split('.')[0]);
    if (!Number.isInteger(major)) throw new Error(text);
    return major;
  } catch {
    throw new LifelineError('SANDBOX', `${dataDir} is not a PostgreSQL data directory (no PG_VERSION).`);
  }
}

/** The postmaster's PID when one is alive for this data directory. */
function postmasterPid(dataDir: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    // EPERM: alive, just not ours to signal.
    return errnoCode(error) === 'EPERM' ? pid : undefined;
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function readFrom(file: string, offset: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const length = Math.max(0, size - offset);
      const buffer = Buffer.alloc(Math.min(length, 64 * 1024));
      fs.readSync(fd, buffer, 0, buffer.length, size - buffer.length);
      return buffer.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

function lastLines(text: string, count: number): string {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter(Boolean)
    .slice(-count)
    .join('\n');
}

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}
