import type pg from 'pg';
import { withDatabase, type ConnInfo } from '../../postgres/conninfo.js';
import { connect } from '../../postgres/client.js';
import { LifelineError, isLifelineError } from '../../errors.js';
import type { Manifest } from '../../storage/manifest.js';
import type { RestoreMode } from './restore.js';
import { OTHER_CLIENT_SESSION } from '../maintenance/sessions.js';
import { refuseTransactionPooler } from '../../postgres/pooler.js';
import { freeBytes } from '../../fs-util.js';
import { dumpFormat, stagingShortfall } from './stage.js';

export interface Problem {
  message: string;
  hint: string;
}

export interface Preflight {
  serverMajor: number;
  /** The role the restore runs as. */
  role: string;
  isSuperuser: boolean;
  canCreateDb: boolean;
  /** Database used for CREATE/ALTER/DROP DATABASE (never the one being replaced). */
  adminDatabase: string;
  liveSizeBytes?: number;
  otherSessions: number;
  freeBytes?: number;
  neededBytes?: number;
  /** Databases named like an interrupted restore of the live one (<db>__restore_<time>). */
  leftovers: string[];
  problems: Problem[];
}

const MiB = 1024 ** 2;
const fmt = (bytes: number) => (bytes >= 1024 * MiB ? `${(bytes / (1024 * MiB)).toFixed(2)} GiB` : `${(bytes / MiB).toFixed(1)} MiB`);

/** Everything that can be known before a restore starts, and what would stop it. */
export async function preflight(options: {
  conn: ConnInfo;
  manifest: Manifest;
  mode: RestoreMode;
  live?: string;
  newDatabase: string;
  jobs: number;
  stagingDir: string;
}): Promise<Preflight> {
  const { live, mode } = options;
  const problems: Problem[] = [];
  const adminDatabase = await pickAdminDatabase(options.conn, mode === 'in-place' ? live : undefined);
  const client = await connect(withDatabase(options.conn, adminDatabase));
  try {
    await refuseTransactionPooler(client, 'a restore');
    const { rows } = await client.query<{ major: number; role: string; su: boolean; createdb: boolean; data_directory: string | null }>(
      `SELECT current_setting('server_version_num')::int / 10000 AS major, current_user AS role, r.rolsuper AS su, r.rolcreatedb AS createdb,
              CASE WHEN r.rolsuper THEN current_setting('data_directory') END AS data_directory
         FROM pg_roles r WHERE r.rolname = current_user`,
    );
    const me = rows[0];
    const liveRow = live
      ? (
          await client.query<{ size: string; owner_ok: boolean; sessions: string; connlimit: number }>(
            `SELECT pg_database_size(d.oid) AS size, pg_has_role(d.datdba, 'MEMBER') AS owner_ok, d.datconnlimit AS connlimit,
                    (SELECT count(*) FROM pg_stat_activity a WHERE a.datname = d.datname AND ${OTHER_CLIENT_SESSION}) AS sessions
               FROM pg_database d WHERE d.datname = $1`,
            [live],
          )
        ).rows[0]
      : undefined;
    if (live && !liveRow && mode !== 'into') {
      problems.push({ message: `Database "${live}" does not exist on the target server.`, hint: `Restore into it with --into ${live}.` });
    }
    if (mode === 'into') {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [options.newDatabase]);
      if (exists.rowCount) problems.push({ message: `Database "${options.newDatabase}" already exists.`, hint: 'Pick a new name with --into; lifeline never restores over an existing database there.' });
    }
    if (mode !== 'in-place' && !me.su && !me.createdb) {
      problems.push({
        message: `Role "${me.role}" cannot create databases (it lacks CREATEDB), which a ${mode === 'swap' ? 'safe (new database + swap)' : 'side-database'} restore needs.`,
        hint: mode === 'swap' ? 'Grant CREATEDB to the role, or use --in-place (a safety backup is taken first).' : 'Grant CREATEDB to the role.',
      });
    }
    if (mode === 'swap' && liveRow && !me.su && !liveRow.owner_ok) {
      problems.push({ message: `Role does not own "${live}", so it cannot rename it.`, hint: 'Run as the database owner, or use --in-place.' });
    }
    const otherSessions = Number(liveRow?.sessions ?? 0);
    if (mode !== 'into' && otherSessions > 0) {
      problems.push({
        message: `${otherSessions} other session(s) are connected to "${live}".`,
        hint: 'Turn maintenance mode on first (`lifeline maintenance on`): it refuses new connections and ends these sessions.',
      });
    }
    if (mode === 'in-place' && liveRow && !me.su && liveRow.connlimit === 0) {
      problems.push({
        message: `"${live}" accepts no connections from non-superusers (CONNECTION LIMIT 0: maintenance turned on by a superuser?), and an in-place restore must connect to it.`,
        hint: 'Turn maintenance off and on again as this role (a non-superuser owner revokes CONNECT from the others instead, keeping its own), or restore without --in-place.',
      });
    }
    if (mode === 'swap' && liveRow && !me.su) problems.push(...(await unsettableSettings(client, live!)));
    const leftovers = live
      ? (
          await client.query<{ datname: string }>(
            `SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND datname ~ '__restore_[0-9]{8}t[0-9]{6}z$' ORDER BY 1`,
            [`${live}__restore_`],
          )
        ).rows.map((r) => r.datname)
      : [];
    const liveSizeBytes = liveRow ? Number(liveRow.size) : undefined;
    const neededBytes = Math.max(Number(options.manifest.extra?.databaseSizeBytes ?? 0), liveSizeBytes ?? 0) || undefined;
    let freeBytes: number | undefined;
    if (me.data_directory && mode !== 'in-place') freeBytes = freeSpace(me.data_directory);
    if (freeBytes !== undefined && neededBytes && freeBytes < neededBytes * 1.1) {
      problems.push({
        message: `Not enough disk for a second copy: ${fmt(freeBytes)} free, about ${fmt(neededBytes * 1.1)} needed.`,
        hint: 'Free space on the database server, or use --in-place (no second copy).',
      });
    }
    if (options.jobs > 1 || dumpFormat(options.manifest) === 'directory') {
      const shortfall = stagingShortfall(options.stagingDir, options.manifest);
      if (shortfall) problems.push(shortfall);
    }
    return { serverMajor: me.major, role: me.role, isSuperuser: me.su, canCreateDb: me.createdb || me.su, adminDatabase, liveSizeBytes, otherSessions, freeBytes, neededBytes, leftovers, problems };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * ALTER DATABASE ... SET entries this role could not put on the restored copy: a superuser-only
 * parameter set by a superuser. Found now, before the restore, rather than at the swap.
 */
async function unsettableSettings(client: pg.Client, live: string): Promise<Problem[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT split_part(c, '=', 1) AS name
       FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase, unnest(s.setconfig) AS c
      WHERE d.datname = $1 AND s.setrole = 0`,
    [live],
  );
  const problems: Problem[] = [];
  for (const { name } of rows) {
    const { rows: info } = await client.query<{ context: string | null; allowed: boolean | null }>(
      `SELECT p.context, CASE WHEN current_setting('server_version_num')::int >= 150000
                              THEN has_parameter_privilege(p.name, 'SET') END AS allowed
         FROM (SELECT $1::text AS name) n LEFT JOIN pg_settings p ON p.name = n.name`,
      [name],
    );
    const { context, allowed } = info[0] ?? {};
    if (context === 'superuser' && !allowed) {
      problems.push({
        message: `"${live}" has ${name} set (ALTER DATABASE ... SET), which only a superuser may set on the restored copy.`,
        hint: 'Run the restore as a superuser, ask for GRANT SET ON PARAMETER, or use --in-place (keeps the database and its settings).',
      });
    }
  }
  return problems;
}

function freeSpace(dir: string): number | undefined {
  try {
    return freeBytes(dir);
  } catch {
    return undefined;
  }
}

/** `postgres` where it exists (it does on every managed service), else template1. */
async function pickAdminDatabase(conn: ConnInfo, fallback?: string): Promise<string> {
  for (const database of ['postgres', 'template1', ...(fallback ? [fallback] : [])]) {
    try {
      const client = await connect(withDatabase(conn, database));
      await client.end();
      return database;
    } catch (error) {
      if (isLifelineError(error) && error.code !== 'DB_UNREACHABLE') throw error;
      if (isLifelineError(error) && !/does not exist|not allowed|permission/i.test(error.message)) throw error;
    }
  }
  throw new LifelineError('DB_UNREACHABLE', 'Cannot connect to the postgres or template1 database of the target server.', {
    hint: 'The role needs CONNECT on the postgres database to create and rename databases.',
  });
}
