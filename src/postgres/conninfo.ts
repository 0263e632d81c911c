import { LifelineError } from '../errors.js';
import { redactConnectionString, redactText } from '../redact.js';
import { validateName } from './names.js';

/**
 * Where a database is, split into libpq's parts so that the password can travel through the
 * environment (PGPASSWORD) and never through argv, logs or the audit trail.
 * Fields left undefined are taken from libpq's own PG* variables by both pg tools and node-pg.
 */
export interface ConnInfo {
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  /** Other libpq parameters (sslmode, application_name, options, ...). */
  params: Record<string, string>;
}

const ENV_FOR_PARAM: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  application_name: 'PGAPPNAME',
  options: 'PGOPTIONS',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
};

const EMPTY_HOST = 'lifeline-empty-host.invalid';

export function parseConnectionUrl(url: string): ConnInfo {
  let parsed: URL;
  try {
    if (!/^postgres(ql)?:\/\//i.test(url)) throw new Error('scheme');
    // WHATWG URL cannot parse an empty host with a port-less authority for custom schemes
    // reliably; swap the scheme for one it treats generically.
    // libpq allows an empty host (socket via ?host=/dir); WHATWG URL does not, so parse with a
    // placeholder host and drop it again below.
    const emptyHost = /^postgres(ql)?:\/\/([^/?#]*@)?(?=[/?#]|$)/i.test(url);
    parsed = new URL(url.replace(/^postgres(ql)?:\/\/([^/?#]*@)?/i, (m) => `pg${m.slice(m.indexOf(':'))}${emptyHost ? EMPTY_HOST : ''}`));
  } catch {
    throw new LifelineError('USAGE', `Not a PostgreSQL connection URL: ${redactConnectionString(url)}`, {
      hint: 'Use postgresql://user@host:5432/dbname (put the password in PGPASSWORD or ~/.pgpass).',
    });
  }
  // fromEntries: a "__proto__" key stays a plain own property.
  const params: Record<string, string> = Object.fromEntries(parsed.searchParams);
  const info: ConnInfo = { params };
  const decode = (text: string, what: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new LifelineError('USAGE', `Malformed %-escape in the ${what} of ${redactConnectionString(url)}`, {
        hint: 'Escape special characters as %XX (e.g. %40 for "@"), or pass the password in PGPASSWORD or ~/.pgpass.',
      });
    }
  };
  const host = parsed.hostname === EMPTY_HOST ? '' : decode(parsed.hostname, 'host');
  if (host) info.host = host.replace(/^\[(.*)\]$/, '$1');
  if (parsed.port) info.port = Number(parsed.port);
  const database = decode(parsed.pathname.replace(/^\//, ''), 'database name');
  if (database) info.database = database;
  if (parsed.username) info.user = decode(parsed.username, 'user name');
  if (parsed.password) info.password = decode(parsed.password, 'password');
  for (const key of ['host', 'port', 'dbname', 'user', 'password'] as const) {
    if (!Object.hasOwn(params, key)) continue;
    const value = params[key];
    delete params[key];
    if (key === 'host') info.host = value;
    else if (key === 'port') info.port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
    else if (key === 'dbname') info.database = value;
    else if (key === 'user') info.user = value;
    else info.password = value;
  }
  if (info.port !== undefined && !(Number.isInteger(info.port) && info.port > 0 && info.port < 65536)) {
    throw new LifelineError('USAGE', `Invalid port in connection URL: ${redactConnectionString(url)}`, {
      hint: 'A port is a number from 1 to 65535.',
    });
  }
  if (info.database !== undefined) validateName(info.database, 'The database name');
  if (info.user !== undefined) validateName(info.user, 'The user name');
  return info;
}

/** A URL for people: never contains the password. */
export function describeConn(info: ConnInfo): string {
  const user = info.user ? `${encodeURIComponent(info.user)}@` : '';
  const socket = info.host?.startsWith('/');
  const host = info.host && !socket ? (info.host.includes(':') ? `[${info.host}]` : info.host) : '';
  const port = info.port && !socket ? `:${info.port}` : '';
  const query = new URLSearchParams();
  if (socket) {
    query.set('host', info.host!);
    if (info.port) query.set('port', String(info.port));
  }
  for (const [key, value] of Object.entries(info.params)) if (key !== 'password') query.set(key, value);
  const qs = query.toString();
  return `postgresql://${user}${host}${port}/${encodeURIComponent(info.database ?? '')}${qs ? `?${qs.replace(/%2F/g, '/')}` : ''}`;
}

/** The same connection pointed at another database of the same server. */
export function withDatabase(info: ConnInfo, database: string): ConnInfo {
  return { ...info, params: { ...info.params }, database };
}

/**
 * Environment for a pg tool (pg_dump, psql, ...). Starts from the caller's environment so that
 * PG* variables and ~/.pgpass keep working, then overrides with what `info` names.
 */
export function toolEnv(info: ConnInfo, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  if (info.host !== undefined) env.PGHOST = info.host;
  if (info.port !== undefined) env.PGPORT = String(info.port);
  if (info.database !== undefined) env.PGDATABASE = info.database;
  if (info.user !== undefined) env.PGUSER = info.user;
  if (info.password !== undefined) env.PGPASSWORD = info.password;
  for (const [key, value] of Object.entries(info.params)) {
    if (Object.hasOwn(ENV_FOR_PARAM, key)) env[ENV_FOR_PARAM[key]] = value;
  }
  return env;
}

/** Removes the password from anything that looks like a connection URL inside a text (see src/redact.ts). */
export const redactUrl = redactText;

/**
 * `--dbname=` for pg_restore / pg_dumpall as a quoted libpq connection string: libpq reads a
 * bare dbname holding "=" (or starting with postgresql://) as a whole connection string, which
 * could point the tool, and the password in its environment, at another server.
 */
export function dbnameArg(database: string, flag = '--dbname'): string {
  return `${flag}=dbname='${database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
