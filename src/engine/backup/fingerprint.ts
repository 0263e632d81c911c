import type pg from 'pg';
import type { TableFingerprint } from '../../storage/manifest.js';

/**
 * Per-table row count and content fingerprint: an order-independent sum of a 64-bit hash per row
 * (a restore may return rows in another order). `hash_record_extended` hashes each column with its
 * type's own hash function, about 3x cheaper than hashing the row's text form, which matters
 * because it runs beside pg_dump on the same cores. Types without a hash function (json, point,
 * ...) fall back to md5 of the row's text. The method is part of the value, so a later check
 * computes the same one.
 */
export type FingerprintMethod = 'hr64' | 'md5';

export function fingerprintSql(qualifiedTable: string, method: FingerprintMethod): string {
  const perRow = method === 'hr64' ? 'hash_record_extended(t, 0)' : `('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint`;
  return `SELECT count(*)::bigint AS rows, coalesce(sum(${perRow}), 0)::text AS sum FROM ONLY ${qualifiedTable} AS t`;
}

export interface TableRef {
  schema: string;
  table: string;
}

/** An identifier for SQL text, quoted whatever it holds (PostgreSQL's quote_ident, always quoting). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A string constant for SQL text, as PostgreSQL's quote_literal writes it: E'...' with doubled
 * backslashes when there are any, so it means the same whatever standard_conforming_strings is.
 */
export function quoteLiteral(value: string): string {
  const body = value.replace(/'/g, "''");
  return value.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

export const qualified = (ref: TableRef) => `${quoteIdent(ref.schema)}.${quoteIdent(ref.table)}`;

/**
 * The tables whose rows pg_dump writes: ordinary and partition tables outside the system schemas,
 * not owned by an extension. Optional schema/table filters mirror pg_dump's -n/-t.
 */
export async function dumpedTables(client: pg.ClientBase, filter: { schemas?: string[]; tables?: TableRef[] } = {}): Promise<TableRef[]> {
  const { rows } = await client.query<{ schema: string; table: string }>(
    `SELECT n.nspname AS schema, c.relname AS table
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r'
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`,
  );
  return rows.filter((row) => {
    if (filter.tables?.length) return filter.tables.some((t) => t.schema === row.schema && t.table === row.table);
    if (filter.schemas?.length) return filter.schemas.includes(row.schema);
    return true;
  });
}

export async function fingerprintTables(
  client: pg.ClientBase,
  tables: TableRef[],
  options: { signal?: AbortSignal; onTable?: (table: TableRef) => void; methods?: Map<string, FingerprintMethod> } = {},
): Promise<TableFingerprint[]> {
  const result: TableFingerprint[] = [];
  for (const table of tables) {
    options.signal?.throwIfAborted();
    options.onTable?.(table);
    const wanted = options.methods?.get(`${table.schema}.${table.table}`);
    const { rows, method } = wanted ? { method: wanted, rows: await fingerprintWith(client, table, wanted) } : await fingerprintAny(client, table);
    result.push({ ...table, rows: Number(rows.rows), fingerprint: `${method}:${rows.sum}` });
  }
  return result;
}

async function fingerprintWith(client: pg.ClientBase, table: TableRef, method: FingerprintMethod) {
  return (await client.query<{ rows: string; sum: string }>(fingerprintSql(qualified(table), method))).rows[0];
}

/** hash_record_extended where every column type can be hashed, else md5 (inside a savepoint). */
async function fingerprintAny(client: pg.ClientBase, table: TableRef) {
  // Inside a transaction (the backup's snapshot) a failed query would abort it: use a savepoint.
  const inTransaction = await client.query('SAVEPOINT lifeline_fingerprint').then(
    () => true,
    (error: { code?: string }) => {
      if (error.code === '25P01') return false; // not in a transaction block
      throw error;
    },
  );
  try {
    const rows = await fingerprintWith(client, table, 'hr64');
    if (inTransaction) await client.query('RELEASE SAVEPOINT lifeline_fingerprint');
    return { rows, method: 'hr64' as const };
  } catch (error) {
    // 42883: no hash function for a column's type (or no hash_record_extended before PG 14).
    if ((error as { code?: string }).code !== '42883') throw error;
    if (inTransaction) await client.query('ROLLBACK TO SAVEPOINT lifeline_fingerprint');
    return { rows: await fingerprintWith(client, table, 'md5'), method: 'md5' as const };
  }
}

/** The method each recorded fingerprint used, so a later check computes the same one. */
export function recordedMethods(tables: TableFingerprint[]): Map<string, FingerprintMethod> {
  return new Map(tables.map((t) => [`${t.schema}.${t.table}`, t.fingerprint.startsWith('md5:') ? 'md5' : 'hr64']));
}
