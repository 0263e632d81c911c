import type pg from 'pg';
import { keepsPlatformEntry, platformOrder, type PlatformPlan } from './platform.js';
import { isExtensionEntry, type TocEntry } from './toc.js';

/**
 * The entries of the dump a restore leaves out, and in which order it restores the others, as a
 * pg_restore --use-list. Undefined when the whole dump is restored as it is.
 */
export interface UseList {
  /** The list file's text. */
  text: string;
  /** The order differs from the dump's: pg_restore needs a seekable (staged) dump. */
  reordered: boolean;
  notes: string[];
}

export function buildUseList(toc: TocEntry[], options: { skipExtensions: Set<string>; foreignDefaultAcls: Set<string>; platform?: PlatformPlan }): UseList | undefined {
  const { platform } = options;
  const ordered = platform ? platformOrder(toc, platform) : toc;
  const skippedAcls = new Set<string>();
  const keep = (e: TocEntry): boolean => {
    if (isExtensionEntry(e, options.skipExtensions)) return false;
    if (e.desc === 'DEFAULT ACL' && options.foreignDefaultAcls.has(e.owner)) {
      skippedAcls.add(e.owner);
      return false;
    }
    return platform ? keepsPlatformEntry(platform, e) : true;
  };
  const kept = ordered.filter(keep);
  const positions = kept.map((e) => toc.indexOf(e));
  const reordered = positions.some((p, i) => i > 0 && p < positions[i - 1]);
  if (kept.length === toc.length && !reordered) return undefined;
  const notes = [...skippedAcls].map((role) => `not restored: default privileges of role ${role} (only ${role} or a superuser may set them)`);
  return { text: `${kept.map((e) => e.line).join('\n')}\n`, reordered, notes };
}

/** Owners of the dump's DEFAULT ACL entries this role cannot set them for (not a member, or missing). */
export async function foreignDefaultAclOwners(client: pg.ClientBase, toc: TocEntry[], isSuperuser: boolean): Promise<Set<string>> {
  const owners = [...new Set(toc.filter((e) => e.desc === 'DEFAULT ACL').map((e) => e.owner))];
  if (!owners.length) return new Set();
  const { rows } = await client.query<{ name: string; ok: boolean }>(
    `SELECT rolname AS name, pg_has_role(oid, 'MEMBER') AS ok FROM pg_roles WHERE rolname = ANY($1)`,
    [owners],
  );
  const allowed = new Set(rows.filter((r) => isSuperuser || r.ok).map((r) => r.name));
  return new Set(owners.filter((o) => !allowed.has(o)));
}
