import type pg from 'pg';
import type { TableFingerprint } from '../../storage/manifest.js';

/**
 * Per-table row count and content fingerprint. The fingerprint is the sum of the first 60 bits of
 * md5(row::text) over all rows: order-independent (a restore may return rows in another order),
 * cheap to stream on the server, and equal across servers because md5 and the row's text form are.
 */
export function fingerprintSql(qualifiedTable: string): string {
  return `SELECT count(*)::bigint AS rows,
    coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text AS fingerprint
    FROM ONLY ${qualifiedTable} AS t`;
}

export interface TableRef {
  schema: string;
  table: string;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
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
  options: { signal?: AbortSignal; onTable?: (table: TableRef) => void } = {},
): Promise<TableFingerprint[]> {
  const result: TableFingerprint[] = [];
  for (const table of tables) {
    options.signal?.throwIfAborted();
    options.onTable?.(table);
    const { rows } = await client.query<{ rows: string; fingerprint: string }>(fingerprintSql(qualified(table)));
    result.push({ ...table, rows: Number(rows[0].rows), fingerprint: rows[0].fingerprint });
  }
  return result;
}
