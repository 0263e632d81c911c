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

export interface PruneResult extends PrunePlan {
  dryRun: boolean;
  deleted: string[];
  walDeleted: number;
}

/**
 * Deletes what the policy expires. Plans under the repository lock (so no backup finishes
 * in between), deletes each backup manifest-first, and only then the WAL no kept base needs.
 */
export async function prune(options: PruneOptions): Promise<PruneResult> {
  const { repo, policy, signal } = options;
  const now = options.now ?? new Date();
  const plan = async () => {
    const { backups } = await repo.listBackups();
    const wal = await readCatalog(repo.store).catch(() => undefined);
    return planPrune({ backups, policy, now, wal });
  };
  if (options.dryRun) return { ...(await plan()), dryRun: true, deleted: [], walDeleted: 0 };

  const release = await repo.acquireLock({ command: 'lifeline prune', wait: options.lockWaitMs, signal });
  try {
    const decided = await plan();
    const deleted: string[] = [];
    if (decided.refused) return { ...decided, dryRun: false, deleted, walDeleted: 0 };
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
    return { ...decided, dryRun: false, deleted, walDeleted: decided.wal.keys.length };
  } finally {
    await release();
  }
}
