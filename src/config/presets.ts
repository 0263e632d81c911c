import type { TargetConfig } from './schema.js';

/**
 * What a logical backup takes from a database: pg_dump's -n/-N/-t/-T/--exclude-table-data, as
 * names or patterns. Schemas are names (wildcards * and ? allowed); tables are `schema.table`.
 * An empty scope is the whole database.
 */
export interface DumpScope {
  includeSchemas: string[];
  excludeSchemas: string[];
  includeTables: string[];
  excludeTables: string[];
  excludeTableData: string[];
}

export interface PlatformPreset {
  /** Schemas the platform creates and maintains itself: never dumped. */
  recreatedSchemas: string[];
  /** Platform schemas whose tables hold the customer's data (users, file metadata): dumped. */
  keptSchemas: string[];
  /** Tables in kept schemas whose rows are short-lived platform state: definitions only. */
  transientTables: string[];
  /**
   * Tables in kept schemas that record the platform's own state (its migrations): backed up, but
   * never loaded into a project whose platform already filled them.
   */
  platformStateTables: string[];
}

/**
 * Supabase: auth holds the project's users and their identities, storage the bucket and object
 * metadata (the files themselves live in the Storage service, not in PostgreSQL). Everything else
 * in the list is recreated by the platform (or by an extension) on a new project.
 */
export const SUPABASE: PlatformPreset = {
  recreatedSchemas: [
    'realtime', '_realtime', 'extensions', 'graphql', 'graphql_public', 'vault', 'supabase_functions',
    'supabase_migrations', 'pgsodium', 'pgsodium_masks', 'net', 'cron', 'pgbouncer', '_analytics',
    '_supavisor', 'pgtle', 'repack', 'topology', 'tiger', 'tiger_data', 'dbdev', 'timescaledb_*', '_timescaledb_*',
  ],
  keptSchemas: ['auth', 'storage'],
  transientTables: [
    'auth.sessions', 'auth.refresh_tokens', 'auth.flow_state', 'auth.mfa_challenges', 'auth.mfa_amr_claims',
    'auth.one_time_tokens', 'auth.saml_relay_states', 'storage.s3_multipart_uploads', 'storage.s3_multipart_uploads_parts',
  ],
  platformStateTables: ['auth.schema_migrations', 'storage.migrations'],
};

export const PRESETS = { supabase: SUPABASE } as const;
export type PresetName = keyof typeof PRESETS;

/** The scope a configured target asks for (its preset merged with its own include/exclude). */
export function targetScope(target: TargetConfig | undefined): DumpScope | undefined {
  if (!target) return undefined;
  const preset = target.preset ? PRESETS[target.preset] : undefined;
  const scope: DumpScope = {
    includeSchemas: [...(target.include?.schemas ?? [])],
    excludeSchemas: [...(preset?.recreatedSchemas ?? []), ...(target.exclude?.schemas ?? [])],
    includeTables: [...(target.include?.tables ?? [])],
    excludeTables: [...(target.exclude?.tables ?? [])],
    excludeTableData: [...(preset?.transientTables ?? []), ...(target.exclude?.tableData ?? [])],
  };
  return isEmptyScope(scope) ? undefined : scope;
}

export function isEmptyScope(scope: DumpScope | undefined): boolean {
  return !scope || Object.values(scope).every((list) => list.length === 0);
}

/** pg_dump arguments for a scope. */
export function scopeArgs(scope: DumpScope | undefined): string[] {
  if (!scope) return [];
  return [
    ...scope.includeSchemas.map((s) => `--schema=${s}`),
    ...scope.excludeSchemas.map((s) => `--exclude-schema=${s}`),
    ...scope.includeTables.map((t) => `--table=${t}`),
    ...scope.excludeTables.map((t) => `--exclude-table=${t}`),
    ...scope.excludeTableData.map((t) => `--exclude-table-data=${t}`),
  ];
}

/**
 * Whether pg_dump writes this table's rows under the scope, following its rules: -t selects tables
 * regardless of -n/-N; otherwise -n narrows and -N removes schemas; -T and --exclude-table-data
 * always win. Patterns follow pg_dump's: unquoted names, * and ?.
 */
export function tableDataInScope(scope: DumpScope | undefined, ref: { schema: string; table: string }): boolean {
  return tableInScope(scope, ref) && !scope?.excludeTableData.some((p) => matches(p, `${ref.schema}.${ref.table}`));
}

/** Whether pg_dump writes this table's definition (and so locks it) under the scope. */
export function tableInScope(scope: DumpScope | undefined, ref: { schema: string; table: string }): boolean {
  if (!scope) return true;
  const name = `${ref.schema}.${ref.table}`;
  if (scope.excludeTables.some((p) => matches(p, name))) return false;
  if (scope.includeTables.length) return scope.includeTables.some((p) => matches(p, name));
  if (scope.includeSchemas.length && !scope.includeSchemas.some((p) => matches(p, ref.schema))) return false;
  return !scope.excludeSchemas.some((p) => matches(p, ref.schema));
}

/**
 * Whether pg_dump writes this schema (and so creates it on restore): -t dumps tables only; -n
 * narrows, -N removes. `public` exists in every new database whatever the dump says.
 */
export function schemaInScope(scope: DumpScope | undefined, schema: string): boolean {
  if (!scope) return true;
  if (scope.includeTables.length) return false;
  if (scope.includeSchemas.length && !scope.includeSchemas.some((p) => matches(p, schema))) return false;
  return !scope.excludeSchemas.some((p) => matches(p, schema));
}

/** pg_dump writes CREATE EXTENSION only for whole-database dumps (no -n, no -t). */
export function extensionsInScope(scope: DumpScope | undefined): boolean {
  return !scope || (!scope.includeSchemas.length && !scope.includeTables.length);
}

export function matches(pattern: string, name: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(name);
}
