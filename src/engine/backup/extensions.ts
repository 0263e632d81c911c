import type pg from 'pg';

/** An extension installed in the backed-up database, as the manifest records it (extra.extensions). */
export interface RecordedExtension {
  name: string;
  version: string;
  schema: string;
}

/**
 * The extensions a restore of this database needs, whether or not the dump itself creates them
 * (pg_dump leaves CREATE EXTENSION out of -n/-t dumps, and a skipped schema such as Supabase's
 * `extensions` would not exist to hold them). plpgsql and other built-ins are left out.
 */
export async function installedExtensions(client: pg.ClientBase): Promise<RecordedExtension[]> {
  const { rows } = await client.query<RecordedExtension>(
    `SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema
       FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
      WHERE e.oid >= 16384 ORDER BY 1`,
  );
  return rows;
}
