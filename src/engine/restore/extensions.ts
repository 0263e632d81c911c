import type pg from 'pg';
import { LifelineError } from '../../errors.js';
import { extensionsInScope, schemaInScope, type DumpScope } from '../../config/presets.js';
import { quoteIdent } from '../backup/fingerprint.js';
import type { RecordedExtension } from '../backup/extensions.js';
import type { TocEntry } from './toc.js';
import type { Problem } from './preflight.js';

export interface NeededExtension {
  name: string;
  /** Where the backed-up database had it; unknown for backups that did not record extensions. */
  schema?: string;
  version?: string;
}

/**
 * What happens to each extension the backup needs:
 * - `present`: the target database has it already; the dump's CREATE/COMMENT EXTENSION are skipped
 *   (they would fail for an extension the platform owns, and --clean would drop it);
 * - `create`: lifeline creates it (and its schema) before pg_restore, because the dump does not
 *   (a -n/-t dump) or cannot (its schema, e.g. Supabase's `extensions`, is not in the dump);
 * - `dump`: the dump's own CREATE EXTENSION IF NOT EXISTS creates it.
 */
export interface ExtensionStep extends NeededExtension {
  action: 'present' | 'create' | 'dump';
  /** The role may not create it (a problem names it). */
  refused?: boolean;
}

export interface ExtensionPlan {
  steps: ExtensionStep[];
  problems: Problem[];
}

/** From the manifest (recorded at backup time) or, for older backups, the dump's EXTENSION entries. */
export function neededExtensions(recorded: RecordedExtension[] | undefined, toc: TocEntry[] | undefined): NeededExtension[] {
  if (recorded) return recorded.map(({ name, schema, version }) => ({ name, schema, version }));
  return (toc ?? []).filter((e) => e.desc === 'EXTENSION').map((e) => ({ name: e.tag }));
}

/**
 * Checked before anything is touched. `client` is connected to the database the restore lands in
 * when it exists (in-place), otherwise to the server's admin database. An extension the server
 * does not offer, or one the role may not create, is a problem that names it and what to ask for.
 */
export async function planExtensions(
  client: pg.ClientBase,
  options: { needed: NeededExtension[]; targetExists: boolean; isSuperuser: boolean; scope?: DumpScope; role: string; inPlace: boolean },
): Promise<ExtensionPlan> {
  const { needed } = options;
  if (!needed.length) return { steps: [], problems: [] };
  const { rows } = await client.query<{ name: string; installed: string | null; trusted: boolean }>(
    `SELECT a.name, a.installed_version AS installed,
            coalesce((SELECT bool_or(coalesce((to_jsonb(v) ->> 'trusted')::boolean, false))
                        FROM pg_available_extension_versions v WHERE v.name = a.name), false) AS trusted
       FROM pg_available_extensions a WHERE a.name = ANY($1)`,
    [needed.map((e) => e.name)],
  );
  const available = new Map(rows.map((r) => [r.name, r]));
  const steps: ExtensionStep[] = [];
  const unavailable: NeededExtension[] = [];
  const refused: NeededExtension[] = [];
  for (const extension of needed) {
    const found = available.get(extension.name);
    if (!found) {
      unavailable.push(extension);
      continue;
    }
    if (options.targetExists && found.installed) {
      steps.push({ ...extension, action: 'present' });
      continue;
    }
    const refusal = !options.isSuperuser && !found.trusted && !(await mayCreate(client, extension.name));
    if (refusal) refused.push(extension);
    steps.push({ ...extension, action: createsItself(extension, options.scope) ? 'dump' : 'create', ...(refusal ? { refused: true } : {}) });
  }
  const problems: Problem[] = [];
  const describe = (list: NeededExtension[]) => list.map((e) => `${e.name}${e.version ? ` ${e.version}` : ''}${e.schema ? ` (schema ${e.schema})` : ''}`).join(', ');
  if (unavailable.length) {
    problems.push({
      message: `The target server does not offer extension(s) the backup needs: ${describe(unavailable)}.`,
      hint:
        'Ask the provider to make them available (Supabase: Database → Extensions; RDS and Cloud SQL: their supported-extensions lists, ' +
        'some need a parameter such as shared_preload_libraries), or restore to a server that has them. Nothing was changed.',
    });
  }
  if (refused.length) {
    const statements = refused.map((e) => `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(e.name)}${e.schema ? ` SCHEMA ${quoteIdent(e.schema)}` : ''} CASCADE;`).join(' ');
    problems.push({
      message: `Role "${options.role}" may not create extension(s) ${describe(refused)}: they are not marked trusted, so creating them needs a superuser or the provider's extension administrator.`,
      hint: options.inPlace
        ? `Ask the provider or an administrator to run in the target database: ${statements} Then restore again. Nothing was changed.`
        : `Restore as a role that may create them (the provider's admin role), or ask an administrator to create them in the live database (${statements}) and restore with --in-place. Nothing was changed.`,
    });
  }
  return { steps, problems };
}

/** The dump creates the extension itself when it holds the CREATE EXTENSION and the schema exists by then. */
function createsItself(extension: NeededExtension, scope: DumpScope | undefined): boolean {
  if (!extension.schema) return true;
  return extensionsInScope(scope) && (extension.schema === 'public' || schemaInScope(scope, extension.schema));
}

/**
 * Whether the role may create an untrusted extension here, found by trying in a transaction that is
 * always rolled back (providers let their admin role create some: rds_superuser, cloudsqlsuperuser,
 * Supabase's supautils). Only a refusal counts; any other error leaves the answer to the restore.
 */
async function mayCreate(client: pg.ClientBase, name: string): Promise<boolean> {
  await client.query('BEGIN');
  try {
    await client.query(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(name)} CASCADE`);
    return true;
  } catch (error) {
    return !/permission denied to create extension|must be superuser|must be owner/i.test((error as Error).message);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

/** Creates the `create` steps (and a schema that the dump will not create) in the restored database. */
export async function createExtensions(client: pg.ClientBase, steps: ExtensionStep[]): Promise<void> {
  for (const step of steps.filter((s) => s.action === 'create')) {
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(step.schema!)}`);
      await client.query(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(step.name)} SCHEMA ${quoteIdent(step.schema!)} CASCADE`);
    } catch (error) {
      throw new LifelineError('RESTORE_FAILED', `Could not create extension ${step.name} in schema ${step.schema}: ${(error as Error).message}`, {
        hint: 'Ask the provider or an administrator to create it (or make it available), then restore again.',
      });
    }
  }
}
