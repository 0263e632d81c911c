import { type ConnInfo } from '../../postgres/conninfo.js';
import { connect } from '../../postgres/client.js';
import { quoteIdent } from '../backup/fingerprint.js';

/**
 * What belongs to the database itself rather than its contents (pg_dump leaves it out):
 * ALTER DATABASE ... SET settings, database grants, the comment and the connection limit
 * (which also carries maintenance mode over to the restored copy).
 */
export async function carryOverDatabaseSettings(options: { admin: ConnInfo; from: string; to: string; isSuperuser: boolean }): Promise<void> {
  const { from, to } = options;
  const client = await connect(options.admin);
  try {
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
      await client.query(`ALTER DATABASE ${quoteIdent(to)} SET ${quoteIdent(name)} TO ${literal(value)}`);
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
  } finally {
    await client.end().catch(() => undefined);
  }
}

const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;
