import { execa } from 'execa';
import type pg from 'pg';
import { LifelineError } from '../../errors.js';
import { dbnameArg, toolEnv, type ConnInfo } from '../../postgres/conninfo.js';
import { findTool } from '../../postgres/tools.js';
import type { Repository } from '../../storage/repository.js';
import type { StoredObject } from '../../storage/manifest.js';
import { quoteIdent } from './fingerprint.js';

export interface GlobalsDump {
  sql: string;
  /** pg_dumpall where the role may run it, else rebuilt from the catalogs (managed services). */
  method: 'pg_dumpall' | 'catalog';
}

/**
 * What the manifest records (`extra.rolePasswords`) about passwords in globals.sql: `included`
 * (it holds the roles' password hashes), `omitted` (not asked for), `unreadable` (asked for, but
 * the role cannot read pg_authid: every managed service).
 */
export type RolePasswords = 'included' | 'omitted' | 'unreadable';

/**
 * Password hashes are stored only inside an encrypted object: asking for them without a key is a
 * usage error, raised before anything connects or is stored.
 */
export function refuseUnencryptedRolePasswords(repo: Repository): void {
  if (repo.encryption) return;
  throw new LifelineError('USAGE', `--role-passwords stores the roles' password hashes, and ${repo.location} is not encrypted: nothing was backed up.`, {
    hint: 'Set an encryption key (LIFELINE_ENCRYPTION_KEY or `lifeline config set encryptionKeyFile <file>`, see docs/encryption.md), or back up without --role-passwords (backup.rolePasswords false).',
  });
}

/** Password hashes live in pg_authid, which only a superuser may read (pg_roles shows ********). */
export async function canReadRolePasswords(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(`SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS ok`);
  return rows[0].ok;
}

/**
 * The cluster's roles and role memberships as SQL: pg_dump writes the objects' own GRANTs, but a
 * restore into a fresh instance also needs the roles they name. Without `passwords`,
 * `pg_dumpall --roles-only --no-role-passwords` reads pg_roles, not pg_authid, so ordinary roles
 * may run it; where a provider blocks it, the same statements are rebuilt from pg_roles and
 * pg_auth_members. With `passwords` (the caller checked canReadRolePasswords), the password hashes
 * come along.
 */
export async function dumpGlobals(
  client: pg.ClientBase,
  options: { conn: ConnInfo; major: number; signal?: AbortSignal; method?: GlobalsDump['method']; passwords?: boolean },
): Promise<GlobalsDump> {
  if (options.method !== 'catalog') {
    const tool = await findTool('pg_dumpall', { major: options.major }).catch(() => undefined);
    if (tool) {
      const database = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0].db;
      const passwordArgs = options.passwords ? [] : ['--no-role-passwords'];
      const result = await execa(tool.path, ['--roles-only', ...passwordArgs, '--no-password', dbnameArg(database, '--database')], {
        env: toolEnv(options.conn),
        extendEnv: false,
        reject: false,
        cancelSignal: options.signal,
      });
      if (result.exitCode === 0) return { sql: String(result.stdout), method: 'pg_dumpall' };
    }
    if (options.method === 'pg_dumpall') throw new Error('pg_dumpall --roles-only failed');
  }
  return { sql: await rolesFromCatalog(client, Boolean(options.passwords)), method: 'catalog' };
}

async function rolesFromCatalog(client: pg.ClientBase, passwords: boolean): Promise<string> {
  const { rows: roles } = await client.query<{
    rolname: string; rolsuper: boolean; rolinherit: boolean; rolcreaterole: boolean; rolcreatedb: boolean;
    rolcanlogin: boolean; rolreplication: boolean; rolbypassrls: boolean; rolconnlimit: number; rolvaliduntil: Date | null;
    rolpassword: string | null;
  }>(`SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolreplication, r.rolbypassrls,
             r.rolconnlimit, r.rolvaliduntil, ${passwords ? 'a.rolpassword' : 'NULL::text AS rolpassword'}
        FROM pg_roles r ${passwords ? 'JOIN pg_authid a ON a.oid = r.oid' : ''} WHERE r.rolname !~ '^pg_' ORDER BY r.rolname`);
  const { rows: members } = await client.query<{ role: string; member: string; grantor: string | null; admin: boolean }>(
    `SELECT r.rolname AS role, m.rolname AS member, g.rolname AS grantor, am.admin_option AS admin
       FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
       LEFT JOIN pg_roles g ON g.oid = am.grantor
      WHERE r.rolname !~ '^pg_' OR m.rolname !~ '^pg_' ORDER BY 1, 2`,
  );
  const flag = (on: boolean, name: string) => (on ? name : `NO${name}`);
  const lines = [`-- Roles (${passwords ? 'with password hashes' : 'without passwords'}) rebuilt by lifeline from pg_roles and pg_auth_members.`, ''];
  for (const r of roles) {
    const role = quoteIdent(r.rolname);
    lines.push(`CREATE ROLE ${role};`);
    const attrs = [
      flag(r.rolsuper, 'SUPERUSER'), r.rolinherit ? 'INHERIT' : 'NOINHERIT', flag(r.rolcreaterole, 'CREATEROLE'),
      flag(r.rolcreatedb, 'CREATEDB'), r.rolcanlogin ? 'LOGIN' : 'NOLOGIN', flag(r.rolreplication, 'REPLICATION'),
      flag(r.rolbypassrls, 'BYPASSRLS'),
    ];
    if (r.rolconnlimit !== -1) attrs.push(`CONNECTION LIMIT ${r.rolconnlimit}`);
    if (r.rolvaliduntil) attrs.push(`VALID UNTIL '${r.rolvaliduntil.toISOString()}'`);
    if (r.rolpassword) attrs.push(`PASSWORD '${r.rolpassword.replace(/'/g, "''")}'`);
    lines.push(`ALTER ROLE ${role} WITH ${attrs.join(' ')};`);
  }
  if (members.length) lines.push('', '-- Role memberships');
  for (const m of members) {
    lines.push(`GRANT ${quoteIdent(m.role)} TO ${quoteIdent(m.member)}${m.admin ? ' WITH ADMIN OPTION' : ''}${m.grantor ? ` GRANTED BY ${quoteIdent(m.grantor)}` : ''};`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Stores the roles as `globals.sql` beside the dump (plain text, small, readable by psql; with
 * `passwords`, only ever encrypted: see refuseUnencryptedRolePasswords). Roles are a convenience
 * for a fresh instance, not the data: when they cannot be read the backup goes on without them
 * and says why in `note`.
 */
export async function storeGlobals(
  client: pg.ClientBase,
  repo: Repository,
  id: string,
  options: { conn: ConnInfo; major: number; signal?: AbortSignal; passwords?: boolean },
): Promise<{ object?: StoredObject; method?: GlobalsDump['method']; note?: string }> {
  if (options.passwords) refuseUnencryptedRolePasswords(repo);
  let globals: GlobalsDump;
  try {
    globals = await dumpGlobals(client, options);
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return { note: `roles not saved: ${(error as Error).message.split('\n')[0]}` };
  }
  const put = await repo.putBackupObject(id, GLOBALS_OBJECT, Buffer.from(globals.sql), { signal: options.signal });
  return { object: { name: GLOBALS_OBJECT, size: put.size, sha256: put.sha256 }, method: globals.method };
}

export const GLOBALS_OBJECT = 'globals.sql';
