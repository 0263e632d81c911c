import type pg from 'pg';
import type { Manifest } from '../../storage/manifest.js';
import { neededExtensions, planExtensions, type ExtensionPlan } from './extensions.js';
import { planPlatformRestore, type PlatformPlan } from './platform.js';
import type { Problem } from './preflight.js';
import { recordedFacts } from './recorded.js';
import type { RestoreMode } from './restore.js';
import type { TocEntry } from './toc.js';
import { buildUseList, foreignDefaultAclOwners, type UseList } from './use-list.js';

/** What of the dump goes where: extensions first, platform tables data-only, entries left out. */
export interface ContentsPlan {
  extensions: ExtensionPlan;
  platform?: PlatformPlan;
  useList?: UseList;
  notes: string[];
  problems: Problem[];
}

/**
 * Planned before anything is touched, against the database the restore lands in (in-place) or the
 * server's admin database (a new database starts empty).
 */
export async function planContents(
  client: pg.ClientBase,
  options: { manifest: Manifest; toc: TocEntry[]; mode: RestoreMode; isSuperuser: boolean; role: string },
): Promise<ContentsPlan> {
  const recorded = recordedFacts(options.manifest);
  const inPlace = options.mode === 'in-place';
  const extensions = await planExtensions(client, {
    needed: neededExtensions(recorded.extensions, options.toc),
    targetExists: inPlace,
    isSuperuser: options.isSuperuser,
    scope: recorded.scope,
    role: options.role,
    inPlace,
  });
  const platform = inPlace
    ? await planPlatformRestore(client, { recorded, tables: options.manifest.tables ?? [], toc: options.toc, isSuperuser: options.isSuperuser, role: options.role })
    : undefined;
  const skipExtensions = new Set(extensions.steps.filter((s) => s.action !== 'dump').map((s) => s.name));
  // --schema/--table of a partial restore apply on top of the list.
  const useList = buildUseList(options.toc, { skipExtensions, foreignDefaultAcls: await foreignDefaultAclOwners(client, options.toc, options.isSuperuser), platform });
  const notes = [
    ...extensions.steps.filter((s) => s.action === 'create').map((s) => `create extension ${s.name} in schema ${s.schema} first (the dump does not create it there)`),
    ...extensions.steps.filter((s) => s.action === 'present').map((s) => `extension ${s.name}: the target has it already; kept as it is`),
    ...(platform ? platformNotes(platform) : []),
    ...(useList?.notes ?? []),
  ];
  return { extensions, platform, useList, notes, problems: [...extensions.problems, ...(platform?.problems ?? [])] };
}

function platformNotes(plan: PlatformPlan): string[] {
  return [
    `platform schemas ${plan.schemas.join(', ')} are the target's own: their definitions are kept, their rows restored data-only`,
    ...(plan.load.length ? [`load rows data-only, parents first: ${plan.load.map((t) => `${t.schema}.${t.table}`).join(', ')}`] : []),
    ...(plan.clear.length ? [`empty first (same transaction): ${plan.clear.map((t) => `${t.schema}.${t.table}`).join(', ')}`] : []),
    ...(plan.created.length ? [`create after the data: ${plan.created.map((c) => c.replace(/^(\w+) (\S+) (.*)$/, (_, kind: string, table: string, name: string) => `${kind.toLowerCase()} ${name} on ${table}`)).join(', ')}`] : []),
    ...plan.notes,
  ];
}
