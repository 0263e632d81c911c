import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client, ClientConfig } from 'pg';
import type { ConnectionOptions } from 'node:tls';
import { LifelineError, abortError, errnoCode, throwIfAborted } from '../errors.js';
import { describeConn, type ConnInfo } from './conninfo.js';
import { pgpassLookup } from './pgpass.js';

export type PgClient = Client;

export interface ConnectOptions {
  /** Gives up after this long (default 10 s, or the connection's connect_timeout). */
  connectTimeoutMs?: number;
  signal?: AbortSignal;
  /** Shown in pg_stat_activity (default "lifeline"). */
  applicationName?: string;
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Opens a node-pg client following libpq's conventions (PG* variables, ~/.pgpass, sslmode with
 * prefer's fallback), and turns the usual failures into LifelineErrors an operator can act on.
 * The caller ends the client; prefer `withClient`.
 */
export async function connect(conn: ConnInfo, options: ConnectOptions = {}): Promise<Client> {
  throwIfAborted(options.signal);
  const env = options.env ?? process.env;
  const socket = (conn.host ?? env.PGHOST ?? '').startsWith('/');
  const sslmode = conn.params.sslmode ?? env.PGSSLMODE ?? 'prefer';
  const attempts: Array<ClientConfig['ssl']> =
    socket || sslmode === 'disable' || sslmode === 'allow' ? [false]
    : sslmode === 'prefer' ? [sslOptions(conn, 'require', env), false]
    : [sslOptions(conn, sslmode, env)];
  let lastError: unknown;
  for (const ssl of attempts) {
    try {
      return await connectOnce(conn, ssl, options, env);
    } catch (error) {
      lastError = error;
      // prefer: the server said no to TLS; libpq then retries in the clear, and so do we.
      if (!(ssl && /does not support SSL/i.test(String((error as Error)?.message)))) break;
    }
  }
  if (options.signal?.aborted) throw abortError(options.signal);
  throw connectError(lastError, conn, sslmode);
}

/** Runs `fn` with a connected client and always closes it. */
export async function withClient<T>(conn: ConnInfo, fn: (client: Client) => Promise<T>, options: ConnectOptions = {}): Promise<T> {
  const client = await connect(conn, options);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function connectOnce(conn: ConnInfo, ssl: ClientConfig['ssl'], options: ConnectOptions, env: NodeJS.ProcessEnv): Promise<Client> {
  const { default: pg } = await import('pg');
  const timeoutParam = Number(conn.params.connect_timeout ?? env.PGCONNECT_TIMEOUT);
  const timeoutMs = options.connectTimeoutMs ?? (timeoutParam > 0 ? Math.max(2, timeoutParam) * 1000 : DEFAULT_TIMEOUT_MS);
  const user = conn.user ?? env.PGUSER ?? os.userInfo().username;
  const host = conn.host ?? env.PGHOST;
  const port = conn.port ?? (env.PGPORT ? Number(env.PGPORT) : 5432);
  const database = conn.database ?? env.PGDATABASE ?? user;
  const config: ClientConfig = {
    user,
    host: host ?? 'localhost',
    port,
    database,
    // A function, so that the password is looked up only when the server asks for one and
    // node-pg's deprecated built-in pgpass support stays out of the way.
    password: async () => {
      const password = conn.password ?? env.PGPASSWORD ?? pgpassLookup({ host, port, database, user }, env);
      if (password === undefined) throw noPasswordError(conn);
      return password;
    },
    ssl,
    connectionTimeoutMillis: timeoutMs,
    application_name: conn.params.application_name ?? env.PGAPPNAME ?? options.applicationName ?? 'lifeline',
  };
  if (conn.params.options ?? env.PGOPTIONS) config.options = conn.params.options ?? env.PGOPTIONS;
  const client = new pg.Client(config);
  // Errors after connect (server restart, idle kill) must not crash the process; the next
  // query reports them.
  client.on('error', () => undefined);
  const onAbort = () => void client.end().catch(() => undefined);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  return client;
}

function noPasswordError(conn: ConnInfo): LifelineError {
  return new LifelineError('DB_AUTH', `The server asks for a password and none was given (${describeConn(conn)})`, {
    hint: "Set PGPASSWORD, add it to ~/.pgpass, or set the target's passwordEnv.",
  });
}

function readFileParam(file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new LifelineError('CONFIG_INVALID', `Cannot read ${file}: ${errnoCode(error) ?? String(error)}.`, {
      hint: 'Check sslrootcert / sslcert / sslkey in the connection settings.',
    });
  }
}

function sslOptions(conn: ConnInfo, mode: string, env: NodeJS.ProcessEnv): ConnectionOptions | false {
  const param = (key: string, envName: string) => conn.params[key] ?? env[envName];
  const options: ConnectionOptions = {};
  const cert = readFileParam(param('sslcert', 'PGSSLCERT'));
  const key = readFileParam(param('sslkey', 'PGSSLKEY'));
  if (cert) options.cert = cert;
  if (key) options.key = key;
  if (mode === 'require' || mode === 'no-verify') return { ...options, rejectUnauthorized: false };
  if (mode !== 'verify-ca' && mode !== 'verify-full') {
    throw new LifelineError('CONFIG_INVALID', `Unknown sslmode "${mode}".`, {
      hint: 'Use one of disable, allow, prefer, require, verify-ca, verify-full.',
    });
  }
  const rootcert = param('sslrootcert', 'PGSSLROOTCERT') ?? path.join(os.homedir(), '.postgresql', 'root.crt');
  if (rootcert !== 'system') options.ca = readFileParam(rootcert);
  options.rejectUnauthorized = true;
  if (mode === 'verify-ca') options.checkServerIdentity = () => undefined;
  return options;
}

/** Maps a node-pg connection failure to an actionable error; never includes the password. */
export function connectError(error: unknown, conn: ConnInfo, sslmode = conn.params.sslmode ?? 'prefer'): LifelineError {
  if (error instanceof LifelineError) return error;
  const where = describeConn(conn);
  const pgCode = (error as { code?: unknown } | null)?.code;
  const message = String((error as Error | null)?.message ?? error).split('\n')[0];
  const sys = errnoCode(error);
  const fail = (code: 'DB_UNREACHABLE' | 'DB_AUTH' | 'DB_NOT_FOUND' | 'DB_PRIVILEGE', text: string, hint: string) =>
    new LifelineError(code, `${text} (${where})`, { hint, cause: error });

  switch (pgCode) {
    case '28P01':
      return fail('DB_AUTH', 'Password authentication failed', 'Check the password (PGPASSWORD, ~/.pgpass or the target\'s passwordEnv) and the user name.');
    case '28000':
      return fail('DB_AUTH', `The server refused the login: ${message}`,
        /no encryption/i.test(message) && sslmode !== 'require'
          ? 'The server requires TLS: add sslmode=require to the connection.'
          : 'Ask the DBA for a pg_hba.conf entry for this user, host and database, or check the user name.');
    case '3D000':
      return fail('DB_NOT_FOUND', `Database "${conn.database ?? ''}" does not exist`, 'Check the database name in the URL or target; `psql -l` lists the databases.');
    case '42501':
      return fail('DB_PRIVILEGE', `Not allowed to connect: ${message}`, 'Grant CONNECT on the database to this role.');
    case '57P03':
      return fail('DB_UNREACHABLE', `The server is not accepting connections yet: ${message}`, 'It is starting up, shutting down or recovering; wait and retry.');
    case '53300':
      return fail('DB_UNREACHABLE', 'The server has no free connection slots', 'Too many clients are connected; retry later or raise max_connections.');
  }
  if (sys === 'ECONNREFUSED') {
    return fail('DB_UNREACHABLE', 'Connection refused: no PostgreSQL server is listening there', 'Is the server running? Check the host and port (and any firewall).');
  }
  if (sys === 'ENOENT' && conn.host?.startsWith('/')) {
    return fail('DB_UNREACHABLE', 'No PostgreSQL socket in that folder: the server is not running there', 'Is the server running? Check the socket directory and port.');
  }
  if (sys === 'ENOTFOUND' || sys === 'EAI_AGAIN') {
    return fail('DB_UNREACHABLE', `Cannot resolve host "${conn.host ?? ''}"`, 'Check the host name and DNS.');
  }
  if (sys === 'ETIMEDOUT' || sys === 'EHOSTUNREACH' || sys === 'ENETUNREACH' || /timeout expired|connection timeout/i.test(message)) {
    return fail('DB_UNREACHABLE', 'Timed out connecting to the server', 'Check the host, port, network path and firewall; set connect_timeout to wait longer.');
  }
  if (/does not support SSL/i.test(message)) {
    return fail('DB_UNREACHABLE', 'The server does not support TLS but the connection requires it', 'Use sslmode=prefer or disable for this server, or enable ssl on it.');
  }
  if (/certificate|self[- ]signed|SSL|TLS/i.test(message)) {
    return fail('DB_UNREACHABLE', `TLS failed: ${message}`, 'Check sslrootcert and sslmode (verify-full needs the host name to match the certificate).');
  }
  if (/terminated unexpectedly|ECONNRESET/i.test(message) || sys === 'ECONNRESET') {
    return fail('DB_UNREACHABLE', 'The server closed the connection during login', 'Check the server log; the port may belong to something other than PostgreSQL.');
  }
  return fail('DB_UNREACHABLE', `Cannot connect: ${message}`, 'Check the connection settings and that the server is running.');
}
