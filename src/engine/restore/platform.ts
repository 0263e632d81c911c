import type pg from 'pg';
import { matches } from '../../config/presets.js';
import type { TableFingerprint } from '../../storage/manifest.js';
import { quoteIdent, type TableRef } from '../backup/fingerprint.js';
import type { RecordedFacts } from './recorded.js';
import { DATA_DESCS, type TocEntry } from './toc.js';
import type { Problem } from './preflight.js';

/**
 * Restoring over a database whose platform owns some schemas (a fresh Supabase project: auth and
 * storage exist, created and owned by the platform). Their definitions are the platform's, so only
 * the user data in them is restored, data-only, into the existing tables: in foreign-key order
 * (a non-superuser cannot switch off the platform's foreign keys with session_replication_role),
 * after the application's rows, so that a user trigger replaying into application tables meets rows
 * that are already there. The application's schemas are dropped and restored as usual.
 */
export interface PlatformPlan {
  /** Schemas the platform owns in the target: their DDL is left alone. */
  schemas: string[];
  /** Tables whose rows are loaded data-only, in foreign-key order (parents first). */
  load: TableRef[];
  /** Tables in `load` that already hold rows: emptied first (children first), in the same transaction. */
  clear: TableRef[];
  /** The platform's own bookkeeping (its migrations): not loaded, the target's rows kept. */
  keptAsIs: string[];
  /** Sequences in platform schemas whose position is restored. */
  sequences: string[];
  /** User triggers and policies on platform tables that the target lacks: created after the data. */
  created: string[];
  /**
   * Functions ("schema.name(argtypes)") that the target's triggers on platform tables call: kept as
   * they are, since --clean cannot drop them while a trigger the role may not drop depends on them.
   */
  keptFunctions: string[];
  /**
   * Of those, the ones this role owns while it may not disable the triggers: they do nothing while
   * the rows load (so a trigger does not replay its effects onto restored rows) and get their
   * definition back before the transaction commits.
   */
  silenced: Array<{ name: string; quoted: string; definition: string }>;
  notes: string[];
  problems: Problem[];
}

interface TargetTable {
  name: string;
  has_rows: boolean;
  can_insert: boolean;
  can_delete: boolean;
  rls_blocks: boolean;
  ours: boolean;
  can_trigger: boolean;
}

/**
 * The platform schemas of the target: a schema of the backup that exists there and belongs to the
 * platform (the backup's preset names it, or it is owned by a role this one does not belong to).
 * Undefined when there is none: the ordinary in-place restore applies.
 */
export async function planPlatformRestore(
  client: pg.ClientBase,
  options: { recorded: RecordedFacts; tables: TableFingerprint[]; toc: TocEntry[]; isSuperuser: boolean; role: string },
): Promise<PlatformPlan | undefined> {
  const { recorded, toc } = options;
  const candidates = [...new Set([...options.tables.map((t) => t.schema), ...(recorded.preset?.keptSchemas ?? [])])];
  const { rows: found } = await client.query<{ name: string; ours: boolean }>(
    `SELECT nspname AS name, pg_has_role(nspowner, 'USAGE') AS ours FROM pg_namespace WHERE nspname = ANY($1) ORDER BY 1`,
    [candidates],
  );
  const schemas = found.filter((s) => recorded.preset?.keptSchemas.includes(s.name) || (!s.ours && !options.isSuperuser)).map((s) => s.name);
  if (!schemas.length) return undefined;

  const inPlatform = (schema: string) => schemas.includes(schema);
  const stateTables = recorded.preset?.platformStateTables ?? [];
  const dumped = options.tables.filter((t) => inPlatform(t.schema));
  const keptAsIs = dumped.filter((t) => stateTables.some((p) => matches(p, `${t.schema}.${t.table}`))).map((t) => `${t.schema}.${t.table}`);
  const wanted = dumped.filter((t) => !keptAsIs.includes(`${t.schema}.${t.table}`));
  const problems: Problem[] = [];
  const notes: string[] = [];

  const target = await targetTables(client, wanted);
  const missing = wanted.filter((t) => !target.has(`${t.schema}.${t.table}`));
  if (missing.length) {
    problems.push({
      message: `The target's platform schemas lack table(s) that hold rows in the backup: ${missing.map((t) => `${t.schema}.${t.table} (${t.rows} rows)`).join(', ')}.`,
      hint: 'The platform version differs from the backed-up one; restore into a new database (without --in-place) to inspect these rows. Nothing was changed.',
    });
  }
  const present = wanted.filter((t) => target.has(`${t.schema}.${t.table}`));
  const facts = (t: TableRef) => target.get(`${t.schema}.${t.table}`)!;
  const noInsert = present.filter((t) => !facts(t).can_insert);
  const noDelete = present.filter((t) => facts(t).has_rows && !facts(t).can_delete);
  const rls = present.filter((t) => facts(t).rls_blocks);
  const grant = (privilege: string, list: TableRef[]) => `GRANT ${privilege} ON ${list.map(qualified).join(', ')} TO ${quoteIdent(options.role)};`;
  if (noInsert.length || noDelete.length) {
    problems.push({
      message:
        `Role "${options.role}" cannot load the platform tables' rows: ` +
        [noInsert.length ? `no INSERT on ${names(noInsert)}` : '', noDelete.length ? `no DELETE on ${names(noDelete)} (they hold rows to replace)` : ''].filter(Boolean).join('; ') +
        '.',
      hint: `Ask the provider or the tables' owner for: ${[noInsert.length ? grant('INSERT', noInsert) : '', noDelete.length ? grant('DELETE', noDelete) : ''].filter(Boolean).join(' ')}`,
    });
  }
  if (rls.length) {
    problems.push({
      message: `Row-level security on ${names(rls)} would filter the restored rows for role "${options.role}".`,
      hint: `Ask for: ALTER ROLE ${quoteIdent(options.role)} BYPASSRLS; (Supabase's postgres role has it).`,
    });
  }

  const load = foreignKeyOrder(present, await foreignKeys(client, present));
  if (!load) {
    problems.push({
      message: `The platform tables ${names(present)} reference each other in a cycle, so their rows cannot be loaded one table after another.`,
      hint: 'Restore as a superuser (foreign keys are then switched off while loading), or into a new database without --in-place.',
    });
  }

  const sequenceNames = toc.filter((e) => e.desc === 'SEQUENCE SET' && e.namespace && inPlatform(e.namespace)).map((e) => `${e.namespace}.${e.tag}`);
  const { rows: sequenceRows } = await client.query<{ name: string; can_update: boolean }>(
    `SELECT n.nspname || '.' || c.relname AS name, has_sequence_privilege(c.oid, 'UPDATE') AS can_update
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'S' AND n.nspname || '.' || c.relname = ANY($1)`,
    [sequenceNames],
  );
  const sequences = sequenceRows.map((s) => s.name);
  const noUpdate = sequenceRows.filter((s) => !s.can_update).map((s) => s.name);
  if (noUpdate.length) {
    problems.push({
      message: `Role "${options.role}" cannot set the platform sequences ${noUpdate.join(', ')} (no UPDATE).`,
      hint: `Ask for: GRANT UPDATE ON SEQUENCE ${noUpdate.map((n) => qualified({ schema: n.slice(0, n.indexOf('.')), table: n.slice(n.indexOf('.') + 1) })).join(', ')} TO ${quoteIdent(options.role)};`,
    });
  }

  // User additions on platform tables (triggers, policies): created after the data when the
  // target lacks them; the target's own are left as they are.
  const existing = await triggersAndPolicies(client, schemas);
  const created: string[] = [];
  for (const entry of toc.filter((e) => (e.desc === 'TRIGGER' || e.desc === 'POLICY') && e.namespace && inPlatform(e.namespace))) {
    const key = `${entry.desc} ${entry.namespace}.${entry.tag}`;
    if (existing.has(key)) continue;
    const table = target.get(`${entry.namespace}.${entry.tag.split(' ')[0]}`);
    const allowed = options.isSuperuser || (entry.desc === 'POLICY' ? table?.ours : table?.can_trigger);
    if (allowed) created.push(key);
    else notes.push(`not restored: ${entry.desc.toLowerCase()} ${entry.tag.split(' ').slice(1).join(' ')} on ${entry.namespace}.${entry.tag.split(' ')[0]} (creating it needs ${entry.desc === 'POLICY' ? 'ownership of the table' : 'the TRIGGER privilege'}; recreate it as the table's owner)`);
  }
  const { rows: used } = await client.query<{ fn: string; quoted: string; trigger: string; ours: boolean; definition: string }>(
    `SELECT DISTINCT pn.nspname || '.' || p.proname || '(' || oidvectortypes(p.proargtypes) || ')' AS fn,
            format('%I.%I(%s)', pn.nspname, p.proname, oidvectortypes(p.proargtypes)) AS quoted,
            t.tgname || ' on ' || n.nspname || '.' || c.relname AS trigger,
            pg_has_role(p.proowner, 'USAGE') AND p.prokind = 'f' AS ours, pg_get_functiondef(p.oid) AS definition
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace
      WHERE NOT t.tgisinternal AND n.nspname = ANY($1) AND NOT pn.nspname = ANY($1) ORDER BY 1`,
    [schemas],
  );
  // --clean cannot drop a function while a trigger the dump does not recreate depends on it.
  const keptFunctions = [...new Set(used.map((u) => u.fn))];
  const silenced = options.isSuperuser ? [] : [...new Map(used.filter((u) => u.ours).map((u) => [u.fn, { name: u.fn, quoted: u.quoted, definition: u.definition }])).values()];
  for (const fn of keptFunctions) {
    const triggers = used.filter((u) => u.fn === fn).map((u) => u.trigger).join(', ');
    notes.push(`kept as the target has it: function ${fn} (trigger ${triggers} depends on it)`);
    if (silenced.some((f) => f.name === fn)) notes.push(`function ${fn} does nothing while the rows load (this role cannot disable trigger ${triggers}) and is put back before the commit`);
  }
  const firing = (await enabledTriggers(client, present)).filter((t) => !used.some((u) => u.ours && t.function === u.fn)).map((t) => t.name);
  if (firing.length && !options.isSuperuser) notes.push(`these triggers on platform tables fire for every restored row (a non-superuser cannot switch them off): ${firing.join(', ')}`);
  if (keptAsIs.length) notes.push(`kept as the target has them (the platform's own bookkeeping): ${keptAsIs.join(', ')}`);

  return {
    schemas,
    load: load ?? present,
    clear: (load ?? present).filter((t) => facts(t).has_rows).reverse(),
    keptAsIs,
    sequences,
    created,
    keptFunctions,
    silenced,
    notes,
    problems,
  };
}

/** Whether a TOC entry is restored when the target's platform owns `plan.schemas`. */
export function keepsPlatformEntry(plan: PlatformPlan, e: TocEntry): boolean {
  if (e.namespace !== null && plan.keptFunctions.length) {
    const fn = e.desc === 'FUNCTION' ? e.tag : (e.desc === 'ACL' || e.desc === 'COMMENT') && e.tag.startsWith('FUNCTION ') ? e.tag.slice(9) : undefined;
    if (fn && plan.keptFunctions.includes(`${e.namespace}.${fn}`)) return false;
  }
  if (e.namespace === null) return !(e.desc === 'SCHEMA' && plan.schemas.includes(e.tag)) && !plan.schemas.some((s) => e.tag === `SCHEMA ${s}`);
  if (!plan.schemas.includes(e.namespace)) return true;
  if (e.desc === 'TABLE DATA') return plan.load.some((t) => t.schema === e.namespace && t.table === e.tag);
  if (e.desc === 'SEQUENCE SET') return plan.sequences.includes(`${e.namespace}.${e.tag}`);
  if (e.desc === 'TRIGGER' || e.desc === 'POLICY') return plan.created.includes(`${e.desc} ${e.namespace}.${e.tag}`);
  return false;
}

/**
 * The platform tables' rows after the application's rows and in foreign-key order; everything else
 * in the dump's order. Reordering data needs a seekable (staged) dump.
 */
export function platformOrder(toc: TocEntry[], plan: PlatformPlan): TocEntry[] {
  const isPlatformData = (e: TocEntry) => e.desc === 'TABLE DATA' && e.namespace !== null && plan.schemas.includes(e.namespace);
  const firstData = toc.findIndex((e) => DATA_DESCS.has(e.desc));
  if (firstData < 0) return toc;
  const before = toc.slice(0, firstData);
  const after = toc.slice(firstData);
  const platformData = plan.load
    .map((t) => toc.find((e) => isPlatformData(e) && e.namespace === t.schema && e.tag === t.table))
    .filter((e): e is TocEntry => Boolean(e));
  return [
    ...before,
    ...after.filter((e) => DATA_DESCS.has(e.desc) && !isPlatformData(e)),
    ...platformData,
    ...after.filter((e) => !DATA_DESCS.has(e.desc)),
  ];
}

/** Runs inside the restore's transaction, between dropping the application's objects and loading rows. */
export function platformPrelude(plan: PlatformPlan, isSuperuser: boolean): string {
  const lines = ['-- lifeline: platform tables are loaded data-only'];
  // A superuser may switch off triggers (the platform's foreign keys included) for the load, as
  // pg_restore --disable-triggers does; FKs of the application are checked when they are created.
  for (const fn of plan.silenced) {
    lines.push(`CREATE OR REPLACE FUNCTION ${fn.quoted} RETURNS trigger LANGUAGE plpgsql AS $lifeline$ BEGIN IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $lifeline$;`);
  }
  // Before triggers are switched off: the platform's ON DELETE CASCADE must still empty the rows
  // (sessions, ...) that reference the deleted ones.
  for (const t of plan.clear) lines.push(`DELETE FROM ${qualified(t)};`);
  if (isSuperuser) lines.push('SET LOCAL session_replication_role = replica;');
  return `${lines.join('\n')}\n`;
}

/** Runs last in the restore's transaction: the silenced trigger functions get their definitions back. */
export function platformEpilogue(plan: PlatformPlan): string {
  return plan.silenced.map((fn) => `${fn.definition.trimEnd()};\n`).join('');
}

const qualified = (t: TableRef) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
const names = (list: TableRef[]) => list.map((t) => `${t.schema}.${t.table}`).join(', ');

async function targetTables(client: pg.ClientBase, tables: TableRef[]): Promise<Map<string, TargetTable>> {
  const out = new Map<string, TargetTable>();
  for (const t of tables) {
    const { rows } = await client.query<TargetTable>(
      `SELECT c.oid::regclass::text AS name, has_table_privilege(c.oid, 'INSERT') AS can_insert, has_table_privilege(c.oid, 'DELETE') AS can_delete,
              has_table_privilege(c.oid, 'TRIGGER') AS can_trigger, pg_has_role(c.relowner, 'USAGE') AS ours,
              (c.relrowsecurity AND NOT r.rolsuper AND NOT r.rolbypassrls AND (NOT pg_has_role(c.relowner, 'USAGE') OR c.relforcerowsecurity)) AS rls_blocks
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.rolname = current_user
        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
      [t.schema, t.table],
    );
    if (!rows.length) continue;
    const row = rows[0];
    // Only when we may read it; a table we cannot read is one we cannot empty either (DELETE problem).
    let hasRows = false;
    try {
      hasRows = (await client.query(`SELECT 1 FROM ${qualified(t)} LIMIT 1`)).rowCount! > 0;
    } catch {
      hasRows = true;
    }
    out.set(`${t.schema}.${t.table}`, { ...row, has_rows: hasRows });
  }
  return out;
}

async function foreignKeys(client: pg.ClientBase, tables: TableRef[]): Promise<Array<{ child: string; parent: string }>> {
  const names = tables.map((t) => `${t.schema}.${t.table}`);
  const { rows } = await client.query<{ child: string; parent: string }>(
    `SELECT cn.nspname || '.' || cc.relname AS child, pn.nspname || '.' || pc.relname AS parent
       FROM pg_constraint k
       JOIN pg_class cc ON cc.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
       JOIN pg_class pc ON pc.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
      WHERE k.contype = 'f' AND k.conrelid <> k.confrelid
        AND cn.nspname || '.' || cc.relname = ANY($1) AND pn.nspname || '.' || pc.relname = ANY($1)`,
    [names],
  );
  return rows;
}

/** Parents before children, keeping the given order otherwise; undefined for a cycle. */
export function foreignKeyOrder(tables: TableRef[], edges: Array<{ child: string; parent: string }>): TableRef[] | undefined {
  const key = (t: TableRef) => `${t.schema}.${t.table}`;
  const done = new Set<string>();
  const ordered: TableRef[] = [];
  while (ordered.length < tables.length) {
    const next = tables.find((t) => !done.has(key(t)) && edges.every((e) => e.child !== key(t) || done.has(e.parent)));
    if (!next) return undefined;
    done.add(key(next));
    ordered.push(next);
  }
  return ordered;
}

async function triggersAndPolicies(client: pg.ClientBase, schemas: string[]): Promise<Set<string>> {
  const { rows } = await client.query<{ key: string }>(
    `SELECT 'TRIGGER ' || n.nspname || '.' || c.relname || ' ' || t.tgname AS key
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT t.tgisinternal AND n.nspname = ANY($1)
     UNION ALL
     SELECT 'POLICY ' || p.schemaname || '.' || p.tablename || ' ' || p.policyname FROM pg_policies p WHERE p.schemaname = ANY($1)`,
    [schemas],
  );
  return new Set(rows.map((r) => r.key));
}

async function enabledTriggers(client: pg.ClientBase, tables: TableRef[]): Promise<Array<{ name: string; function: string }>> {
  const { rows } = await client.query<{ name: string; function: string }>(
    `SELECT n.nspname || '.' || c.relname || ': ' || t.tgname AS name,
            pn.nspname || '.' || p.proname || '(' || oidvectortypes(p.proargtypes) || ')' AS function
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace
      WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND n.nspname || '.' || c.relname = ANY($1) ORDER BY 1`,
    [tables.map((t) => `${t.schema}.${t.table}`)],
  );
  return rows;
}
