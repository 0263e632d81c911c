import type pg from 'pg';
import { quoteIdent } from '../backup/fingerprint.js';

/**
 * How a non-superuser owner closes its database: CONNECTION LIMIT 0 would shut the owner out too
 * (only superusers pass it), so instead CONNECT is revoked from PUBLIC and from every role whose
 * privileges the operator does not hold itself. The operator (and the owner role it acts as) keeps
 * its own grant, so the restore and the checks that follow can still connect.
 */
export interface ConnectGrant {
  /** A role name, or PUBLIC. */
  grantee: string;
  grantable: boolean;
}

/** The CONNECT grants `closeDatabase` would take away (those the operator does not rely on). */
export async function connectGrantsToRevoke(client: pg.ClientBase, database: string): Promise<ConnectGrant[]> {
  const { rows } = await client.query<{ grantee: string; grantable: boolean }>(
    `SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee, bool_or(a.is_grantable) AS grantable
       FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
      WHERE d.datname = $1 AND a.privilege_type = 'CONNECT'
        AND (a.grantee = 0 OR NOT pg_has_role(a.grantee, 'USAGE'))
      GROUP BY 1 ORDER BY 1`,
    [database],
  );
  return rows;
}

/**
 * Revokes CONNECT from `grants` in one transaction, and rolls back if the operator would lose
 * CONNECT itself. Returns the login roles (not superusers) that can still connect: the operator's
 * own role and any role that inherits from it, which an application may share.
 */
export async function closeDatabase(client: pg.ClientBase, database: string, grants: ConnectGrant[]): Promise<string[]> {
  await client.query('BEGIN');
  try {
    if (grants.length) {
      await client.query(`REVOKE CONNECT ON DATABASE ${quoteIdent(database)} FROM ${grants.map((g) => grantee(g.grantee)).join(', ')} CASCADE`);
    }
    const { rows } = await client.query<{ ok: boolean }>(`SELECT has_database_privilege(current_user, $1, 'CONNECT') AS ok`, [database]);
    if (!rows[0].ok) throw new Error(`the role would lose CONNECT on "${database}" itself`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  const { rows } = await client.query<{ rolname: string }>(
    `SELECT r.rolname FROM pg_roles r
      WHERE r.rolcanlogin AND NOT r.rolsuper AND has_database_privilege(r.oid, $1, 'CONNECT') ORDER BY 1`,
    [database],
  );
  return rows.map((r) => r.rolname);
}

/** Gives back exactly the CONNECT grants `closeDatabase` took (idempotent). */
export async function reopenDatabase(client: pg.ClientBase, database: string, grants: ConnectGrant[]): Promise<void> {
  for (const statement of reopenStatements(database, grants)) await client.query(statement);
}

export function reopenStatements(database: string, grants: ConnectGrant[]): string[] {
  return grants.map((g) => `GRANT CONNECT ON DATABASE ${quoteIdent(database)} TO ${grantee(g.grantee)}${g.grantable ? ' WITH GRANT OPTION' : ''};`);
}

const grantee = (name: string) => (name === 'PUBLIC' ? 'PUBLIC' : quoteIdent(name));
