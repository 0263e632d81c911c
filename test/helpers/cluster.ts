import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCluster, type Cluster, type Settings } from '../../src/postgres/cluster.js';
import { withClient } from '../../src/postgres/client.js';
import type { ConnInfo } from '../../src/postgres/conninfo.js';
import { seedDemoShop } from '../../src/postgres/seed.js';
import { destroySandbox, listSandboxes } from '../../src/postgres/sandbox.js';
import { lifelinePaths } from '../../src/config/paths.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type TestCluster = Cluster & {
  /** The temp folder holding the cluster. */
  root: string;
  /** Stops the server at once and removes every file. Safe to call twice. */
  cleanup(): Promise<void>;
};

export interface StartTestClusterOptions {
  settings?: Settings;
  port?: number;
}

/**
 * A fresh PostgreSQL cluster in a temp folder (~0.5-1 s), started, postgres trusted locally. Use
 * one per test file: `beforeAll(async () => { pg = await startTestCluster(); })`,
 * `afterAll(() => pg?.cleanup())`.
 */
export async function startTestCluster(options: StartTestClusterOptions = {}): Promise<TestCluster> {
  const root = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'lifeline-test-'));
  try {
    const cluster = await createCluster({
      dir: path.join(root, 'cluster'),
      port: options.port,
      // Durability is pointless in a throwaway cluster and costs time on every commit.
      settings: { fsync: false, synchronous_commit: false, full_page_writes: false, ...options.settings },
    });
    let cleaned = false;
    return Object.assign(cluster, {
      root,
      async cleanup() {
        if (cleaned) return;
        cleaned = true;
        await cluster.destroy().catch(() => undefined);
        await fs.promises.rm(root, { recursive: true, force: true });
      },
    });
  } catch (error) {
    await fs.promises.rm(root, { recursive: true, force: true });
    throw error;
  }
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Creates a database in the cluster (dropping one of that name first); returns its connection. */
export async function createDatabase(cluster: Cluster, name: string): Promise<ConnInfo> {
  await withClient(cluster.conn('postgres'), async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
  });
  return cluster.conn(name);
}

/** A database holding the demo shop (default name "shop", ~100k rows; pass rows for less). */
export async function seeded(cluster: Cluster, options: { database?: string; rows?: number } = {}): Promise<ConnInfo> {
  const conn = await createDatabase(cluster, options.database ?? 'shop');
  await seedDemoShop(conn, { rows: options.rows });
  return conn;
}

/** Creates a login role with a password (scram-sha-256 in the test cluster's pg_hba). */
export async function createRole(cluster: Cluster, name: string, password: string, attributes = ''): Promise<void> {
  await withClient(cluster.conn('postgres'), async (client) => {
    await client.query(`DROP ROLE IF EXISTS ${quoteIdent(name)}`);
    const literal = `'${password.replace(/'/g, "''")}'`;
    await client.query(`CREATE ROLE ${quoteIdent(name)} LOGIN PASSWORD ${literal} ${attributes}`);
  });
}

export interface TempHome {
  home: string;
  /** { LIFELINE_HOME } to pass to runCli. */
  env: Record<string, string>;
  /** Destroys any sandbox created under this home (they keep running otherwise), then removes it. */
  cleanup(): Promise<void>;
}

/** A temp LIFELINE_HOME: config, data, state and sandboxes stay inside it. */
export async function tempHome(): Promise<TempHome> {
  const home = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'lifeline-home-'));
  return {
    home,
    env: { LIFELINE_HOME: home },
    async cleanup() {
      const paths = lifelinePaths({ LIFELINE_HOME: home });
      for (const name of listSandboxes(paths)) await destroySandbox({ paths, name }).catch(() => undefined);
      await fs.promises.rm(home, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Variables that would make the CLI pick a real database or another home instead of the test's. */
const LEAKY_ENV = ['PGHOST', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGPASSWORD', 'PGSERVICE', 'LIFELINE_DB', 'LIFELINE_REPO', 'LIFELINE_HOME', 'LIFELINE_ENCRYPTION_KEY', 'LIFELINE_KEYRING'];

/**
 * Runs the built CLI (`node bin/lifeline.js`, so `npm run build` first) and never throws on a
 * non-zero exit. The caller's environment is inherited minus PG* / LIFELINE_* naming a target.
 */
export async function runCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; input?: string; cwd?: string; timeoutMs?: number; /** e.g. 0o000: run under this umask */ umask?: number } = {},
): Promise<CliResult> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', CI: '1' };
  for (const name of LEAKY_ENV) delete env[name];
  Object.assign(env, options.env);
  const command = [process.execPath, path.join(repoRoot, 'bin/lifeline.js'), ...args];
  const umasked = options.umask === undefined ? command : ['sh', '-c', `umask ${options.umask.toString(8).padStart(3, '0')} && exec "$@"`, 'sh', ...command];
  const result = await execa(umasked[0], umasked.slice(1), {
    env,
    extendEnv: false,
    reject: false,
    cwd: options.cwd ?? repoRoot,
    timeout: options.timeoutMs ?? 120_000,
    ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' as const }),
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}
