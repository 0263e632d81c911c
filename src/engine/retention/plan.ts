import type { Policy } from '../../config/policy.js';
import type { BackupEntry } from '../../storage/repository.js';
import type { WalCatalog } from '../wal/catalog.js';
import { lsnSegment } from '../wal/names.js';

export interface PruneDecision {
  id: string;
  label: string;
  kind: 'logical' | 'base';
  finishedAt: string;
  reason: string;
}

export interface PrunePlan {
  delete: PruneDecision[];
  keep: PruneDecision[];
  /** WAL objects older than the oldest kept base backup (history files are always kept). */
  wal: { keys: string[]; bytes: number; reason: string };
  /** Set when the policy would leave nothing: nothing is deleted then. */
  refused?: string;
}

const DAY = 86_400_000;

/**
 * Which backups the policy expires, and why each one stays or goes. Pure: the same inputs give
 * the same plan, so `prune --dry-run` shows exactly what `prune` will do.
 */
export function planPrune(options: { backups: BackupEntry[]; policy: Policy; now: Date; wal?: WalCatalog }): PrunePlan {
  const { backups, policy, now } = options;
  const keep = new Map<string, string>();
  const keepFor = (b: BackupEntry, reason: string) => {
    if (!keep.has(b.id)) keep.set(b.id, reason);
  };
  const age = (b: BackupEntry) => now.getTime() - Date.parse(b.finishedAt);
  const newestFirst = [...backups].sort((a, b) => Date.parse(b.finishedAt) - Date.parse(a.finishedAt));

  for (const kind of ['logical', 'base'] as const) {
    const verified = newestFirst.find((b) => b.kind === kind && b.verified);
    if (verified) keepFor(verified, `newest verified ${kind} backup`);
  }
  // The oldest point of the promised PITR window needs the newest base backup that ended before it.
  const windowStart = now.getTime() - policy.retention.pitr.days * DAY;
  const anchor = newestFirst.find((b) => b.kind === 'base' && Date.parse(b.finishedAt) <= windowStart);
  if (anchor) keepFor(anchor, `base for the start of the ${policy.retention.pitr.days}-day point-in-time window`);

  for (const [label, rule] of Object.entries(policy.retention)) {
    const ofLabel = newestFirst.filter((b) => b.label === label);
    ofLabel.forEach((b, index) => {
      if (index < rule.keepLast) keepFor(b, `newest ${rule.keepLast} ${label} backup${rule.keepLast === 1 ? '' : 's'}`);
      else if (age(b) < rule.days * DAY) keepFor(b, `${label}: younger than ${rule.days} days`);
    });
  }

  const decision = (b: BackupEntry, reason: string): PruneDecision => ({ id: b.id, label: b.label, kind: b.kind, finishedAt: b.finishedAt, reason });
  const kept = newestFirst.filter((b) => keep.has(b.id)).map((b) => decision(b, keep.get(b.id)!));
  const expired = newestFirst
    .filter((b) => !keep.has(b.id))
    .map((b) => {
      const rule = policy.retention[b.label as keyof Policy['retention']];
      return decision(b, `${b.label}: ${(age(b) / DAY).toFixed(1)} days old, past ${rule.days} days and not among the newest ${rule.keepLast}`);
    });

  const wal = walToPrune(options.wal, newestFirst.filter((b) => keep.has(b.id) && b.kind === 'base'));
  if (backups.length > 0 && kept.length === 0) {
    return {
      delete: [],
      keep: [],
      wal: { keys: [], bytes: 0, reason: '' },
      refused: `the policy would delete all ${backups.length} backups (none is verified or young enough); nothing was deleted`,
    };
  }
  return { delete: expired, keep: kept, wal };
}

function walToPrune(catalog: WalCatalog | undefined, keptBases: BackupEntry[]): PrunePlan['wal'] {
  const none = { keys: [], bytes: 0, reason: '' };
  if (!catalog || !keptBases.length) return { ...none, reason: keptBases.length ? '' : 'no base backup is kept, so the WAL archive is left alone' };
  const starts = keptBases.filter((b) => b.startLsn).map((b) => lsnSegment(b.startLsn!, catalog.segmentSize));
  if (starts.length !== keptBases.length) return { ...none, reason: 'a kept base backup records no start LSN; WAL left alone' };
  const oldest = Math.min(...starts);
  const old = catalog.entries.filter((e) => e.kind !== 'history' && e.number !== undefined && e.number < oldest);
  return {
    keys: old.map((e) => e.key),
    bytes: old.reduce((sum, e) => sum + e.storedSize, 0),
    reason: `older than the oldest kept base backup's start segment`,
  };
}
