import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type pg from 'pg';
import { LifelineError } from '../../errors.js';
import { ensureDir, writeFileAtomic } from '../../fs-util.js';
import { withDatabase, type ConnInfo } from '../../postgres/conninfo.js';
import { connect } from '../../postgres/client.js';
import { refuseTransactionPooler } from '../../postgres/pooler.js';
import { quoteIdent } from '../backup/fingerprint.js';
import { OTHER_CLIENT_SESSION } from './sessions.js';
import { closeDatabase, connectGrantsToRevoke, reopenDatabase, reopenStatements, type ConnectGrant } from './connect-grants.js';

/**
 * Maintenance mode. `database`: new connections to the target database are refused and the other
 * sessions are ended. A superuser sets CONNECTION LIMIT 0 (superusers still get in to repair); a
 * non-superuser owner, whom that limit would shut out too, revokes CONNECT from everyone but
 * itself instead (connect-grants.ts).
 * `command`: the operator's own on/off commands (a load balancer flag, a feature switch).
 * The previous settings are saved to a state file BEFORE anything changes, so `off` restores
 * exactly them, even after lifeline crashed in between.
 */
export type MaintenanceStrategy =
  | { kind: 'database' }
  | { kind: 'command'; on: string[]; off: string[]; status?: string[] };

export interface MaintenanceOptions {
  conn: ConnInfo;
  strategy: MaintenanceStrategy;
  /** Folder for the saved previous settings (<state>/maintenance). */
  stateDir: string;
  operator: string;
  signal?: AbortSignal;
}

export interface MaintenanceState {
  database: string;
  server: string;
  strategy: MaintenanceStrategy['kind'];
  since: string;
  operator: string;
  previous?: {
    connectionLimit: number;
    allowConnections: boolean;
    /** How `on` closed the database; absent in older state files (connection-limit). */
    method?: ClosingMethod;
    /** revoke-connect: the CONNECT grants taken away, given back by `off`. */
    connectGrants?: ConnectGrant[];
    /** pg_database.datacl before `on`, for the record. */
    acl?: string | null;
  };
}

export type ClosingMethod = 'connection-limit' | 'revoke-connect';

export interface MaintenanceStatus {
  on: boolean;
  state?: MaintenanceState;
  database: string;
  /** Sessions on the database other than lifeline's own (database strategy). */
  otherSessions?: number;
  connectionLimit?: number;
}

export interface RemainingSession {
  pid: number;
  user: string;
  /** Why it could not be ended (e.g. a superuser's session and we are not superuser). */
  reason: string;
}

export interface MaintenanceResult {
  changed: boolean;
  terminatedSessions?: number;
  /** Sessions `on` could not end: the database is closed to new ones, but these still run. */
  remainingSessions?: RemainingSession[];
  /** revoke-connect: login roles that may still connect (the operator's own, and roles inheriting it). */
  stillAllowed?: string[];
  status: MaintenanceStatus;
}

function databaseOf(conn: ConnInfo): string {
  const database = conn.database ?? process.env.PGDATABASE ?? conn.user ?? process.env.PGUSER;
  if (!database) throw new LifelineError('USAGE', 'No database named for maintenance mode.', { hint: 'Name it in the target URL or PGDATABASE.' });
  return database;
}

function stateFile(options: MaintenanceOptions): string {
  const database = databaseOf(options.conn);
  const server = `${options.conn.host ?? process.env.PGHOST ?? ''}:${options.conn.port ?? process.env.PGPORT ?? 5432}`;
  const key = createHash('sha256').update(`${server}/${database}`).digest('hex').slice(0, 16);
  return path.join(options.stateDir, `${database.replace(/[^A-Za-z0-9_-]/g, '_')}-${key}.json`);
}

function readState(file: string): MaintenanceState | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as MaintenanceState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LifelineError('REPO_CORRUPT', `Maintenance state file ${file} is unreadable: ${(error as Error).message}`, {
      hint: 'Check the database settings by hand (pg_database.datconnlimit), then delete the file.',
    });
  }
}

/** The maintenance database of the same server, for ALTER DATABASE and session management. */
const adminConn = (conn: ConnInfo) => withDatabase(conn, 'postgres');

export async function maintenanceOn(options: MaintenanceOptions): Promise<MaintenanceResult> {
  const file = stateFile(options);
  const existing = readState(file);
  const database = databaseOf(options.conn);
  if (options.strategy.kind === 'command') {
    if (!existing) saveState(file, { database, server: '', strategy: 'command', since: new Date().toISOString(), operator: options.operator });
    try {
      await runCommand(options.strategy.on, 'on', options.signal);
    } catch (error) {
      // A failed first `on` must not leave a state that says maintenance is on.
      if (!existing) fs.rmSync(file, { force: true });
      throw error;
    }
    return { changed: !existing, status: await maintenanceStatus(options) };
  }
  const client = await connect(adminConn(options.conn));
  try {
    // Through a transaction pooler, "end the other sessions" would end the pooler's, not the app's.
    await refuseTransactionPooler(client, 'maintenance mode');
    const { rows } = await client.query<{ datconnlimit: number; datallowconn: boolean; acl: string | null; su: boolean; owner_ok: boolean }>(
      `SELECT d.datconnlimit, d.datallowconn, d.datacl::text AS acl, pg_has_role(d.datdba, 'MEMBER') AS owner_ok,
              (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su
         FROM pg_database d WHERE d.datname = $1`,
      [database],
    );
    if (!rows.length) throw new LifelineError('DB_UNREACHABLE', `Database "${database}" does not exist.`);
    const [db] = rows;
    const method: ClosingMethod = existing?.previous ? (existing.previous.method ?? 'connection-limit') : db.su ? 'connection-limit' : 'revoke-connect';
    const refuse = (detail: string) =>
      new LifelineError('DB_PRIVILEGE', `Cannot put "${database}" in maintenance: ${detail}`, {
        hint: 'The role must own the database (or be a member of its owner role, or superuser); or configure maintenance.strategy "command".',
      });
    if (!db.su && !db.owner_ok) throw refuse('the role neither owns it nor is superuser');
    // Saved BEFORE anything changes: `off` puts back exactly this, even after a crash right here.
    const grants = method === 'revoke-connect' ? await connectGrantsToRevoke(client, database) : [];
    const previous = existing?.previous ?? { connectionLimit: db.datconnlimit, allowConnections: db.datallowconn, method, acl: db.acl };
    const known = previous.connectGrants ?? [];
    const connectGrants = method === 'revoke-connect' ? [...known, ...grants.filter((g) => !known.some((k) => k.grantee === g.grantee))] : undefined;
    saveState(file, {
      database,
      server: `${options.conn.host ?? ''}:${options.conn.port ?? ''}`,
      strategy: 'database',
      since: existing?.since ?? new Date().toISOString(),
      operator: existing?.operator ?? options.operator,
      previous: { ...previous, ...(connectGrants ? { connectGrants } : {}) },
    });
    let stillAllowed: string[] | undefined;
    try {
      if (method === 'connection-limit') await client.query(`ALTER DATABASE ${quoteIdent(database)} CONNECTION LIMIT 0`);
      else stillAllowed = await closeDatabase(client, database, grants);
    } catch (error) {
      if (!existing) fs.rmSync(file, { force: true });
      throw refuse((error as Error).message);
    }
    const { terminated, remaining } = await endSessions(client, database);
    return {
      changed: !existing,
      terminatedSessions: terminated,
      ...(remaining.length ? { remainingSessions: remaining } : {}),
      ...(stillAllowed ? { stillAllowed } : {}),
      status: await maintenanceStatus(options),
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Ends the other client sessions on `database` one by one: a non-superuser may end its own
 * role's sessions (or any, with pg_signal_backend) but not a superuser's, and one refusal must
 * not stop the rest. From PostgreSQL 14 each termination waits (up to 5 s) until the session is really gone, so a
 * restore started right after `on` does not find it still listed.
 */
async function endSessions(client: pg.Client, database: string): Promise<{ terminated: number; remaining: RemainingSession[] }> {
  const { rows } = await client.query<{ pid: number; usename: string | null; application_name: string }>(
    `SELECT a.pid, a.usename, a.application_name FROM pg_stat_activity a WHERE a.datname = $1 AND ${OTHER_CLIENT_SESSION}`,
    [database],
  );
  const { rows: version } = await client.query<{ num: number }>(`SELECT current_setting('server_version_num')::int AS num`);
  const terminate = version[0].num >= 140000 ? 'SELECT pg_terminate_backend($1, 5000) AS ok' : 'SELECT pg_terminate_backend($1) AS ok';
  let terminated = 0;
  const remaining: RemainingSession[] = [];
  for (const session of rows) {
    try {
      const { rows: ended } = await client.query<{ ok: boolean }>(terminate, [session.pid]);
      if (ended[0].ok) terminated++;
      else remaining.push({ pid: session.pid, user: session.usename ?? '', reason: 'did not end within 5 s' });
    } catch (error) {
      remaining.push({ pid: session.pid, user: session.usename ?? '', reason: (error as Error).message });
    }
  }
  return { terminated, remaining };
}

export async function maintenanceOff(options: MaintenanceOptions): Promise<MaintenanceResult> {
  const file = stateFile(options);
  const state = readState(file);
  if (!state) return { changed: false, status: await maintenanceStatus(options) };
  if (state.strategy === 'command') {
    if (options.strategy.kind !== 'command') throw new LifelineError('CONFIG_INVALID', 'Maintenance was turned on with the command strategy, which is no longer configured.');
    await runCommand(options.strategy.off, 'off', options.signal);
  } else {
    const previous = state.previous ?? { connectionLimit: -1, allowConnections: true };
    const grants = previous.connectGrants ?? [];
    const client = await connect(adminConn(options.conn));
    try {
      if ((previous.method ?? 'connection-limit') === 'connection-limit') {
        await client.query(`ALTER DATABASE ${quoteIdent(state.database)} CONNECTION LIMIT ${Number(previous.connectionLimit)}`);
      } else {
        await reopenDatabase(client, state.database, grants);
      }
    } catch (error) {
      const statements = previous.method === 'revoke-connect' ? reopenStatements(state.database, grants).join(' ') : `ALTER DATABASE "${state.database}" CONNECTION LIMIT ${previous.connectionLimit};`;
      throw new LifelineError('DB_PRIVILEGE', `Cannot take "${state.database}" out of maintenance: ${(error as Error).message}`, {
        hint: `Run as the owner: ${statements}`,
      });
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  fs.rmSync(file, { force: true });
  return { changed: true, status: await maintenanceStatus(options) };
}

export async function maintenanceStatus(options: MaintenanceOptions): Promise<MaintenanceStatus> {
  const state = readState(stateFile(options));
  const database = databaseOf(options.conn);
  if (options.strategy.kind === 'command') {
    if (options.strategy.status) {
      const result = await execa(options.strategy.status[0], options.strategy.status.slice(1), { reject: false, cancelSignal: options.signal });
      return { on: result.exitCode === 0, state, database };
    }
    return { on: Boolean(state), state, database };
  }
  const client = await connect(adminConn(options.conn));
  try {
    const { rows } = await client.query<{ datconnlimit: number; sessions: string }>(
      `SELECT d.datconnlimit, (SELECT count(*) FROM pg_stat_activity a WHERE a.datname = d.datname AND ${OTHER_CLIENT_SESSION}) AS sessions
         FROM pg_database d WHERE d.datname = $1`,
      [database],
    );
    if (!rows.length) throw new LifelineError('DB_UNREACHABLE', `Database "${database}" does not exist.`);
    return { on: Boolean(state) || rows[0].datconnlimit === 0, state, database, otherSessions: Number(rows[0].sessions), connectionLimit: rows[0].datconnlimit };
  } finally {
    await client.end().catch(() => undefined);
  }
}

function saveState(file: string, state: MaintenanceState): void {
  ensureDir(path.dirname(file));
  writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
}

async function runCommand(argv: string[], which: string, signal?: AbortSignal): Promise<void> {
  if (!argv.length) throw new LifelineError('CONFIG_INVALID', `maintenance.${which}Command is not configured.`, { hint: `lifeline config set maintenance.${which}Command '["cmd","arg"]'` });
  const result = await execa(argv[0], argv.slice(1), { reject: false, cancelSignal: signal, all: true });
  if (result.exitCode !== 0) {
    const last = String(result.all ?? '').trim().split('\n').pop();
    throw new LifelineError('TOOL_FAILED', `maintenance ${which} command failed (exit ${result.exitCode})${last ? `: ${last}` : ''}`, {
      hint: `Check maintenance.${which}Command in the config.`,
    });
  }
}
