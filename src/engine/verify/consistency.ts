import type pg from 'pg';
import type { ConnInfo } from '../../postgres/conninfo.js';
import { connect } from '../../postgres/client.js';
import type { TableFingerprint } from '../../storage/manifest.js';
import { fingerprintTables, quoteIdent, recordedMethods } from '../backup/fingerprint.js';
import type { VerifyCheck } from './types.js';

export interface SqlAssertion {
  name: string;
  sql: string;
}

/**
 * Level 4 against any database: the rows equal what the manifest recorded, every foreign key
 * holds, every index is valid (and passes amcheck where available), and the configured
 * assertions are true.
 */
export async function checkConsistency(options: {
  conn: ConnInfo;
  expected: TableFingerprint[];
  assertions?: SqlAssertion[];
  /** Compare only these tables (partial restores); default every table of the manifest. */
  only?: (t: TableFingerprint) => boolean;
  /** Tables compared by row count only (a platform may have added columns to them). */
  countsOnly?: (t: TableFingerprint) => boolean;
  signal?: AbortSignal;
  /** Try CREATE EXTENSION amcheck (true in a disposable cluster where we are superuser). */
  installAmcheck?: boolean;
}): Promise<VerifyCheck[]> {
  const client = await connect(options.conn);
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const checks: VerifyCheck[] = [];
    const expected = options.expected.filter(options.only ?? (() => true));
    checks.push(...(await compareFingerprints(client, expected, options.signal, options.countsOnly)));
    checks.push(await checkForeignKeys(client));
    checks.push(await checkIndexes(client));
    await client.query('COMMIT');
    const amcheck = await runAmcheck(client, Boolean(options.installAmcheck));
    if (amcheck) checks.push(amcheck);
    for (const assertion of options.assertions ?? []) checks.push(await runAssertion(client, assertion));
    return checks;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function compareFingerprints(
  client: pg.Client,
  expected: TableFingerprint[],
  signal?: AbortSignal,
  countsOnly: (t: TableFingerprint) => boolean = () => false,
): Promise<VerifyCheck[]> {
  const { rows: present } = await client.query<{ schema: string; table: string }>(
    `SELECT n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'`,
  );
  const exists = new Set(present.map((r) => `${r.schema}.${r.table}`));
  const missing = expected.filter((t) => !exists.has(`${t.schema}.${t.table}`));
  const actual = await fingerprintTables(client, expected.filter((t) => exists.has(`${t.schema}.${t.table}`)), { signal, methods: recordedMethods(expected) });
  const checks: VerifyCheck[] = missing.map((t) => ({
    level: 'consistency' as const,
    name: `table ${t.schema}.${t.table}`,
    ok: false,
    detail: 'missing after restore',
  }));
  for (const got of actual) {
    const want = expected.find((t) => t.schema === got.schema && t.table === got.table)!;
    const name = `table ${got.schema}.${got.table}`;
    if (got.rows !== want.rows) checks.push({ level: 'consistency', name, ok: false, detail: `${got.rows} rows, backup recorded ${want.rows}` });
    else if (countsOnly(want)) checks.push({ level: 'consistency', name, ok: true, detail: `${got.rows} rows (platform table: counted, not fingerprinted)` });
    else if (got.fingerprint !== want.fingerprint) checks.push({ level: 'consistency', name, ok: false, detail: `${got.rows} rows but contents differ from the backup's fingerprint` });
    else checks.push({ level: 'consistency', name, ok: true, detail: `${got.rows} rows, fingerprint matches` });
  }
  return checks;
}

/** An anti-join per foreign key: rows whose referenced row does not exist. */
async function checkForeignKeys(client: pg.Client): Promise<VerifyCheck> {
  const { rows: fks } = await client.query<{ name: string; child: string; parent: string; cols: string[]; refcols: string[] }>(
    `SELECT c.conname AS name, c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent,
            array(SELECT attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY i) AS cols,
            array(SELECT attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY i) AS refcols
       FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
      WHERE c.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema')`,
  );
  const broken: string[] = [];
  for (const fk of fks) {
    const join = fk.cols.map((col, i) => `p.${quoteIdent(fk.refcols[i])} = c.${quoteIdent(col)}`).join(' AND ');
    const notNull = fk.cols.map((col) => `c.${quoteIdent(col)} IS NOT NULL`).join(' AND ');
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${fk.child} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${fk.parent} p WHERE ${join})`,
    );
    if (Number(rows[0].n) > 0) broken.push(`${fk.name} on ${fk.child}: ${rows[0].n} rows without a ${fk.parent}`);
  }
  return broken.length
    ? { level: 'consistency', name: 'foreign keys', ok: false, detail: broken.join('; ') }
    : { level: 'consistency', name: 'foreign keys', ok: true, detail: `${fks.length} foreign keys hold` };
}

async function checkIndexes(client: pg.Client): Promise<VerifyCheck> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT i.indexrelid::regclass::text AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE (NOT i.indisvalid OR NOT i.indisready) AND n.nspname NOT IN ('pg_catalog', 'information_schema')`,
  );
  return rows.length
    ? { level: 'consistency', name: 'indexes', ok: false, detail: `invalid: ${rows.map((r) => r.name).join(', ')}` }
    : { level: 'consistency', name: 'indexes', ok: true, detail: 'every index is valid' };
}

/** B-tree structure checks with amcheck, when the extension is there (or may be created). */
async function runAmcheck(client: pg.Client, install: boolean): Promise<VerifyCheck | undefined> {
  if (install) await client.query('CREATE EXTENSION IF NOT EXISTS amcheck').catch(() => undefined);
  const { rows: ext } = await client.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'`,
  );
  if (!ext.length) return undefined;
  const { rows: indexes } = await client.query<{ oid: number; name: string }>(
    `SELECT c.oid, c.oid::regclass::text AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_am am ON am.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE am.amname = 'btree' AND i.indisvalid AND c.relpersistence <> 't'
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`,
  );
  const failed: string[] = [];
  for (const index of indexes) {
    try {
      await client.query(`SELECT ${quoteIdent(ext[0].schema)}.bt_index_check($1::regclass, true)`, [index.oid]);
    } catch (error) {
      failed.push(`${index.name}: ${(error as Error).message}`);
    }
  }
  return failed.length
    ? { level: 'consistency', name: 'amcheck', ok: false, detail: failed.join('; ') }
    : { level: 'consistency', name: 'amcheck', ok: true, detail: `${indexes.length} b-tree indexes checked` };
}

async function runAssertion(client: pg.Client, assertion: SqlAssertion): Promise<VerifyCheck> {
  const name = `assertion ${assertion.name}`;
  try {
    // One statement only (extended protocol), as for runbook assertions.
    const { rows } = await client.query({ text: assertion.sql, rowMode: 'array', queryMode: 'extended' } as pg.QueryConfig);
    const value = rows[0]?.[0];
    return value === true || value === 't'
      ? { level: 'consistency', name, ok: true }
      : { level: 'consistency', name, ok: false, detail: `returned ${JSON.stringify(value ?? null)}, expected true` };
  } catch (error) {
    return { level: 'consistency', name, ok: false, detail: `query failed: ${(error as Error).message}` };
  }
}
