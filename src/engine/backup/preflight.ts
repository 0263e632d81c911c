import type pg from 'pg';
import { LifelineError } from '../../errors.js';
import { tableInScope, type DumpScope } from '../../config/presets.js';
import { quoteIdent } from './fingerprint.js';

export interface BackupPrivilegeGap {
  kind: 'schema-usage' | 'select' | 'row-security';
  /** schema, or schema.table */
  object: string;
}

/**
 * Everything pg_dump will need to read, checked before it starts, so a role that lacks a grant
 * fails at once with the exact GRANT to ask for instead of half-way through the dump. pg_dump
 * locks (ACCESS SHARE, which needs SELECT) every table whose definition it writes, reads every
 * sequence, and runs with row_security off, which fails on a table with row-level security
 * unless the role owns it (and it is not FORCEd) or has BYPASSRLS.
 */
export async function privilegeGaps(client: pg.ClientBase, scope?: DumpScope): Promise<BackupPrivilegeGap[]> {
  const { rows } = await client.query<{ schema: string; name: string; kind: string; usage: boolean; can_select: boolean; rls_blocks: boolean }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind,
            has_schema_privilege(n.oid, 'USAGE') AS usage,
            CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(c.oid, 'SELECT') ELSE has_table_privilege(c.oid, 'SELECT') END AS can_select,
            (c.relrowsecurity AND NOT r.rolsuper AND NOT r.rolbypassrls
             AND (NOT pg_has_role(c.relowner, 'USAGE') OR c.relforcerowsecurity)) AS rls_blocks
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_roles r ON r.rolname = current_user
      WHERE c.relkind IN ('r', 'p', 'S')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`,
  );
  const gaps: BackupPrivilegeGap[] = [];
  const schemasWithoutUsage = new Set<string>();
  for (const row of rows) {
    if (!tableInScope(scope, { schema: row.schema, table: row.name })) continue;
    const object = `${row.schema}.${row.name}`;
    if (!row.usage) schemasWithoutUsage.add(row.schema);
    if (!row.can_select) gaps.push({ kind: 'select', object });
    else if (row.rls_blocks) gaps.push({ kind: 'row-security', object });
  }
  return [...[...schemasWithoutUsage].map((schema) => ({ kind: 'schema-usage' as const, object: schema })), ...gaps];
}

/** Throws DB_PRIVILEGE naming every missing privilege and the statements to ask for. */
export async function backupPreflight(client: pg.ClientBase, options: { scope?: DumpScope } = {}): Promise<void> {
  const gaps = await privilegeGaps(client, options.scope);
  if (!gaps.length) return;
  const role = (await client.query<{ role: string }>('SELECT current_user AS role')).rows[0].role;
  const of = (kind: BackupPrivilegeGap['kind']) => gaps.filter((g) => g.kind === kind).map((g) => g.object);
  const usage = of('schema-usage');
  const select = of('select');
  const rls = of('row-security');
  const parts = [
    usage.length ? `no USAGE on schema ${list(usage)}` : '',
    select.length ? `no SELECT on ${list(select)}` : '',
    rls.length ? `row-level security hides rows of ${list(rls)}` : '',
  ].filter(Boolean);
  const grants = [
    ...usage.map((s) => `GRANT USAGE ON SCHEMA ${quoteIdent(s)} TO ${quoteIdent(role)};`),
    ...(select.length ? [`GRANT SELECT ON ${select.map(qualify).join(', ')} TO ${quoteIdent(role)};`] : []),
    ...(rls.length ? [`ALTER ROLE ${quoteIdent(role)} BYPASSRLS;`] : []),
  ];
  throw new LifelineError('DB_PRIVILEGE', `Role "${role}" cannot read everything the backup needs: ${parts.join('; ')}.`, {
    hint:
      `Ask the provider or the objects' owner for: ${grants.join(' ')} ` +
      `Or leave these out of the target's scope (exclude.schemas / exclude.tables, or preset: supabase for a Supabase project).`,
  });
}

function list(names: string[]): string {
  return names.length <= 8 ? names.join(', ') : `${names.slice(0, 8).join(', ')} and ${names.length - 8} more`;
}

function qualify(object: string): string {
  const dot = object.indexOf('.');
  return `${quoteIdent(object.slice(0, dot))}.${quoteIdent(object.slice(dot + 1))}`;
}
