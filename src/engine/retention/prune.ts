import type { Policy } from '../../config/policy.js';
import type { Repository } from '../../storage/repository.js';
import { readCatalog } from '../wal/catalog.js';
import type { ProgressCallback } from '../progress.js';
import { planPrune, type PrunePlan } from './plan.js';

export interface PruneOptions {
  repo: Repository;
  policy: Policy;
  dryRun?: boolean;
  now?: Date;
  lockWaitMs?: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

/** What a killed backup left: a backup folder without manifest that nothing will finish. */
export interface Leftover {
  id: string;
  reason: string;
}

export interface PruneResult extends PrunePlan {
  dryRun: boolean;
  deleted: string[];
  walDeleted: number;
  /** Leftovers of killed backups (deleted unless dryRun). */
  leftovers: Leftover[];
  /** Unfinished uploads of killed puts older than an hour, removed (not counted in a dry run). */
  partialUploads: { count: number; bytes: number };
}

/**
 * Deletes what the policy expires. Plans under the repository lock (so no backup finishes
 * in between), deletes each backup manifest-first, and only then the WAL no kept base needs.
 * Also clears what killed processes left: backup folders without manifest whose process is
 * gone, and unfinished uploads (temp files, multipart uploads) older than an hour.
 */
export async function prune(options: PruneOptions): Promise<PruneResult> {
  const { repo, policy, signal } = options;
  const now = options.now ?? new Date();
  const plan = async () => {
    const { backups } = await repo.listBackups();
    const wal = await readCatalog(repo.store).catch(() => undefined);
    const leftovers = (await repo.sweepIncomplete({ now })).map((l): Leftover => ({
      id: l.id,
      reason: l.reservation
        ? `unfinished backup of pid ${l.reservation.pid} on ${l.reservation.host}, which no longer runs`
        : `unfinished backup, untouched since ${l.lastModifiedAt.toISOString()}`,
    }));
    return { ...planPrune({ backups, policy, now, wal }), leftovers };
  };
  const none = { count: 0, bytes: 0 };
  if (options.dryRun) return { ...(await plan()), dryRun: true, deleted: [], walDeleted: 0, partialUploads: none };

  const release = await repo.acquireLock({
    command: 'lifeline prune',
    wait: options.lockWaitMs,
    signal,
    onWaiting: (holder) => options.onProgress?.({ phase: 'lock', message: `waiting for ${holder.command} (pid ${holder.pid}) to release the repository` }),
  });
  try {
    const decided = await plan();
    for (const leftover of decided.leftovers) {
      signal?.throwIfAborted();
      options.onProgress?.({ phase: 'prune', message: `deleting ${leftover.id} (${leftover.reason})` });
      await repo.deleteBackup(leftover.id);
    }
    const partialUploads = await repo.removePartialUploads({ now });
    const deleted: string[] = [];
    if (decided.refused) return { ...decided, dryRun: false, deleted, walDeleted: 0, partialUploads };
    for (const backup of decided.delete) {
      signal?.throwIfAborted();
      options.onProgress?.({ phase: 'prune', message: `deleting ${backup.id} (${backup.reason})` });
      await repo.deleteBackup(backup.id);
      deleted.push(backup.id);
    }
    for (let i = 0; i < decided.wal.keys.length; i += 1000) {
      signal?.throwIfAborted();
      await repo.store.delete(decided.wal.keys.slice(i, i + 1000));
    }
    return { ...decided, dryRun: false, deleted, walDeleted: decided.wal.keys.length, partialUploads };
  } finally {
    await release();
  }
}
