import type pg from 'pg';
import { LifelineError } from '../../errors.js';
import { type ConnInfo } from '../../postgres/conninfo.js';
import { connect } from '../../postgres/client.js';
import { quoteIdent, quoteLiteral } from '../backup/fingerprint.js';

/**
 * What belongs to the database itself rather than its contents (pg_dump leaves it out):
 * ALTER DATABASE ... SET settings, database grants, the comment and the connection limit
 * (which also carries maintenance mode over to the restored copy).
 */
export async function carryOverDatabaseSettings(options: { admin: ConnInfo; from: string; to: string; isSuperuser: boolean }): Promise<void> {
  const { from, to } = options;
  const client = await connect(options.admin);
  try {
    await copySettings(client, from, to);
  } catch (error) {
    throw new LifelineError('RESTORE_FAILED', `Could not copy the settings of "${from}" to the restored copy: ${(error as Error).message}`, {
      hint: `The live database "${from}" was not touched; run the restore as its owner or a superuser.`,
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function copySettings(client: pg.Client, from: string, to: string): Promise<void> {
  const { rows } = await client.query<{ settings: string[] | null; acl: string | null; comment: string | null; connlimit: number }>(
    `SELECT s.setconfig AS settings, d.datacl::text AS acl, shobj_description(d.oid, 'pg_database') AS comment, d.datconnlimit AS connlimit
       FROM pg_database d LEFT JOIN pg_db_role_setting s ON s.setdatabase = d.oid AND s.setrole = 0
      WHERE d.datname = $1`,
    [from],
  );
  const source = rows[0];
  if (!source) return;
  for (const setting of source.settings ?? []) {
    const eq = setting.indexOf('=');
    const name = setting.slice(0, eq);
    const value = setting.slice(eq + 1);
    await client.query(`ALTER DATABASE ${quoteIdent(to)} SET ${quoteIdent(name)} TO ${settingValue(name, value)}`);
  }
  const { rows: grants } = await client.query<{ grantee: string; privilege: string; grantable: boolean }>(
    `SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee, a.privilege_type AS privilege, a.is_grantable AS grantable
       FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a WHERE d.datname = $1`,
    [from],
  );
  if (source.acl) {
    await client.query(`REVOKE ALL ON DATABASE ${quoteIdent(to)} FROM PUBLIC`);
    for (const g of grants) {
      const grantee = g.grantee === 'PUBLIC' ? 'PUBLIC' : quoteIdent(g.grantee);
      await client.query(`GRANT ${g.privilege} ON DATABASE ${quoteIdent(to)} TO ${grantee}${g.grantable ? ' WITH GRANT OPTION' : ''}`);
    }
  }
  if (source.comment !== null) await client.query(`COMMENT ON DATABASE ${quoteIdent(to)} IS ${literal(source.comment)}`);
  await client.query(`ALTER DATABASE ${quoteIdent(to)} CONNECTION LIMIT ${Number(source.connlimit)}`);
}

const literal = quoteLiteral;

/** Parameters stored as a list of double-quoted names (PostgreSQL's GUC_LIST_QUOTE, as pg_dump knows them). */
const LIST_QUOTE = new Set(['local_preload_libraries', 'search_path', 'session_preload_libraries', 'shared_preload_libraries', 'temp_tablespaces', 'unix_socket_directories']);

/**
 * The value as ALTER DATABASE ... SET must be given it: list parameters element by element
 * (`'$user', 'public'`), because one literal holding the whole list would become one element.
 */
export function settingValue(name: string, value: string): string {
  if (!LIST_QUOTE.has(name.toLowerCase())) return literal(value);
  const items: string[] = [];
  const pattern = /\s*(?:"((?:[^"]|"")*)"|([^,]*?))\s*(?:,|$)/gy;
  for (let m = pattern.exec(value); m && m[0] !== ''; m = pattern.exec(value)) items.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]);
  return items.length ? items.map(literal).join(', ') : "''";
}
