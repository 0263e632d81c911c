import type { Client } from 'pg';

export interface TableFacts {
  schema: string;
  name: string;
  /** The planner's estimate (pg_class.reltuples, or live tuples when never analyzed). */
  estimatedRows: number;
  /** Table + indexes + TOAST. */
  bytes: number;
}

export interface ServerFacts {
  /** e.g. "PostgreSQL 15.8 (Debian 15.8-1.pgdg120+1) on x86_64-pc-linux-gnu, ..." */
  version: string;
  /** server_version_num, e.g. 150008. */
  versionNum: number;
  major: number;
  /**
   * pg_control_system().system_identifier as a decimal string (a 64-bit value); undefined where a
   * managed service hides it.
   */
  systemIdentifier: string | undefined;
  database: string;
  user: string;
  sizeBytes: number;
  timezone: string;
  encoding: string;
  isSuperuser: boolean;
  canCreateDb: boolean;
  inRecovery: boolean;
  /** User tables (partitioned parents included), pg_catalog / information_schema / toast excluded. */
  tables: TableFacts[];
}

/** What we know about the server and the connected database, in a few cheap catalog queries. */
export async function serverFacts(client: Client): Promise<ServerFacts> {
  const { rows } = await client.query<{
    version: string;
    version_num: string;
    database: string;
    user: string;
    size_bytes: string;
    timezone: string;
    encoding: string;
    is_superuser: boolean;
    can_create_db: boolean;
    in_recovery: boolean;
  }>(`
    SELECT version() AS version,
           current_setting('server_version_num') AS version_num,
           current_database() AS database,
           current_user AS user,
           pg_database_size(current_database())::text AS size_bytes,
           current_setting('TimeZone') AS timezone,
           pg_encoding_to_char(d.encoding) AS encoding,
           r.rolsuper AS is_superuser,
           (r.rolsuper OR r.rolcreatedb) AS can_create_db,
           pg_is_in_recovery() AS in_recovery
      FROM pg_database d, pg_roles r
     WHERE d.datname = current_database() AND r.rolname = current_user`);
  const row = rows[0];
  const versionNum = Number(row.version_num);

  // Checked first rather than caught: a failed query would abort the caller's transaction.
  let systemIdentifier: string | undefined;
  const allowed = await client.query<{ ok: boolean }>(
    "SELECT has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE') AS ok",
  );
  if (allowed.rows[0]?.ok) {
    const control = await client.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
    systemIdentifier = control.rows[0]?.id;
  }

  const tables = await client.query<{ schema: string; name: string; reltuples: string; live: string | null; bytes: string }>(`
    SELECT n.nspname AS schema, c.relname AS name, c.reltuples::text AS reltuples,
           s.n_live_tup::text AS live, pg_total_relation_size(c.oid)::text AS bytes
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
     WHERE c.relkind IN ('r', 'p')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
     ORDER BY n.nspname, c.relname`);

  return {
    version: row.version,
    versionNum,
    major: Math.floor(versionNum / 10000),
    systemIdentifier,
    database: row.database,
    user: row.user,
    sizeBytes: Number(row.size_bytes),
    timezone: row.timezone,
    encoding: row.encoding,
    isSuperuser: row.is_superuser,
    canCreateDb: row.can_create_db,
    inRecovery: row.in_recovery,
    tables: tables.rows.map((t) => {
      const reltuples = Number(t.reltuples);
      // reltuples is -1 until the first VACUUM/ANALYZE (PG 14+).
      const estimatedRows = reltuples >= 0 ? Math.round(reltuples) : Number(t.live ?? 0);
      return { schema: t.schema, name: t.name, estimatedRows, bytes: Number(t.bytes) };
    }),
  };
}
