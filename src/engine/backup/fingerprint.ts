import type pg from 'pg';
import type { TableFingerprint } from '../../storage/manifest.js';

/**
 * Per-table row count and content fingerprint: an order-independent sum of a 64-bit hash per row
 * (a restore may return rows in another order). It runs beside pg_dump on the same cores, so its
 * cost is the backup's: `c64` hashes each column with its type's own extended hash function,
 * seeded by the column's position, and XORs them (about 30% cheaper than `hr64`, which builds a
 * whole-row record per row for `hash_record_extended`). Types without a hash function (json,
 * point, ...) fall back to md5 of the row's text. The method is part of the value, so a later
 * check computes the same one; `hr64` stays for manifests written before `c64`.
 */
export type FingerprintMethod = 'c64' | 'hr64' | 'md5';

export interface Column {
  name: string;
  /** The type's name when it is a built-in (pg_catalog) type, else undefined. */
  builtin?: string;
}

/** The extended hash of a built-in type's value, `$c` the column and `$s` the seed. */
const COLUMN_HASH: Record<string, string> = {
  int2: 'hashint2extended($c, $s)',
  int4: 'hashint4extended($c, $s)',
  int8: 'hashint8extended($c, $s)',
  oid: 'hashoidextended($c, $s)',
  float4: 'hashfloat4extended($c, $s)',
  float8: 'hashfloat8extended($c, $s)',
  numeric: 'hash_numeric_extended($c, $s)',
  bool: 'hashint4extended($c::int4, $s)',
  text: 'hashtextextended($c, $s)',
  varchar: 'hashtextextended($c, $s)',
  bpchar: 'hashbpcharextended($c, $s)',
  name: 'hashnameextended($c, $s)',
  uuid: 'uuid_hash_extended($c, $s)',
  jsonb: 'jsonb_hash_extended($c, $s)',
  timestamp: 'timestamp_hash_extended($c, $s)',
  // Fixed to UTC so the session's TimeZone cannot change the value.
  timestamptz: "timestamp_hash_extended($c AT TIME ZONE 'UTC', $s)",
  date: 'timestamp_hash_extended($c::timestamp, $s)',
  time: 'time_hash_extended($c, $s)',
  timetz: 'timetz_hash_extended($c, $s)',
  interval: 'interval_hash_extended($c, $s)',
  inet: 'hashinetextended($c, $s)',
  cidr: 'hashinetextended($c, $s)',
  macaddr: 'hashmacaddrextended($c, $s)',
};

function columnHash(column: Column, position: number): string {
  const template = (column.builtin && COLUMN_HASH[column.builtin]) ?? 'hash_record_extended(ROW($c), $s)';
  // A NULL hashes to the negated position: a NULL moved to another column changes the row's hash.
  const hash = template.replace('$c', () => `t.${quoteIdent(column.name)}`).replace('$s', String(position));
  return `coalesce(${hash}, -${position})`;
}

export function fingerprintSql(qualifiedTable: string, method: FingerprintMethod, columns: Column[] = []): string {
  const perRow =
    method === 'c64'
      ? columns.map((column, i) => columnHash(column, i + 1)).join(' # ') || '0::int8'
      : method === 'hr64'
        ? 'hash_record_extended(t, 0)'
        : `('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint`;
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
  const columns = await tableColumns(client, tables);
  for (const table of tables) {
    options.signal?.throwIfAborted();
    options.onTable?.(table);
    const key = `${table.schema}.${table.table}`;
    const wanted = options.methods?.get(key);
    const tableColumnList = columns.get(key) ?? [];
    const { rows, method } = wanted
      ? { method: wanted, rows: await fingerprintWith(client, table, wanted, tableColumnList) }
      : await fingerprintAny(client, table, tableColumnList);
    result.push({ ...table, rows: Number(rows.rows), fingerprint: `${method}:${rows.sum}` });
  }
  return result;
}

/** Every table's columns in order (as pg_dump writes them), with the names of built-in types. */
export async function tableColumns(client: pg.ClientBase, tables: TableRef[]): Promise<Map<string, Column[]>> {
  const byTable = new Map<string, Column[]>();
  if (!tables.length) return byTable;
  const { rows } = await client.query<{ schema: string; table: string; name: string; builtin: string | null }>(
    `SELECT n.nspname AS schema, c.relname AS table, a.attname AS name,
            CASE WHEN ty.typnamespace = 'pg_catalog'::regnamespace THEN ty.typname END AS builtin
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_type ty ON ty.oid = a.atttypid
      WHERE a.attnum > 0 AND NOT a.attisdropped AND (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
      ORDER BY n.nspname, c.relname, a.attnum`,
    [tables.map((t) => t.schema), tables.map((t) => t.table)],
  );
  for (const row of rows) {
    const key = `${row.schema}.${row.table}`;
    if (!byTable.has(key)) byTable.set(key, []);
    byTable.get(key)!.push({ name: row.name, ...(row.builtin ? { builtin: row.builtin } : {}) });
  }
  return byTable;
}

async function fingerprintWith(client: pg.ClientBase, table: TableRef, method: FingerprintMethod, columns: Column[]) {
  return (await client.query<{ rows: string; sum: string }>(fingerprintSql(qualified(table), method, columns))).rows[0];
}

/** c64 where every column type can be hashed, else md5 (inside a savepoint). */
async function fingerprintAny(client: pg.ClientBase, table: TableRef, columns: Column[]) {
  // Inside a transaction (the backup's snapshot) a failed query would abort it: use a savepoint.
  const inTransaction = await client.query('SAVEPOINT lifeline_fingerprint').then(
    () => true,
    (error: { code?: string }) => {
      if (error.code === '25P01') return false; // not in a transaction block
      throw error;
    },
  );
  try {
    const rows = await fingerprintWith(client, table, 'c64', columns);
    if (inTransaction) await client.query('RELEASE SAVEPOINT lifeline_fingerprint');
    return { rows, method: 'c64' as const };
  } catch (error) {
    // 42883: no hash function for a column's type (or no hash_record_extended before PG 14).
    if ((error as { code?: string }).code !== '42883') throw error;
    if (inTransaction) await client.query('ROLLBACK TO SAVEPOINT lifeline_fingerprint');
    return { rows: await fingerprintWith(client, table, 'md5', columns), method: 'md5' as const };
  }
}

/** The method each recorded fingerprint used, so a later check computes the same one. */
export function recordedMethods(tables: TableFingerprint[]): Map<string, FingerprintMethod> {
  return new Map(tables.map((t) => [`${t.schema}.${t.table}`, methodOf(t.fingerprint)]));
}

function methodOf(fingerprint: string): FingerprintMethod {
  const method = fingerprint.slice(0, fingerprint.indexOf(':'));
  return method === 'c64' || method === 'md5' ? method : 'hr64';
}
