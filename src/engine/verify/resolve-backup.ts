import { LifelineError, isLifelineError } from '../../errors.js';
import type { BackupEntry, Repository } from '../../storage/repository.js';

/**
 * Repository.resolveBackup, plus a precise error for a backup folder whose manifest is gone: it
 * "does not exist" by the layout's rule, but the operator asked for it by name and should hear why.
 */
export async function resolveBackup(repo: Repository, ref: string, options: { kind?: BackupEntry['kind'] } = {}): Promise<BackupEntry> {
  try {
    return await repo.resolveBackup(ref, options);
  } catch (error) {
    if (!isLifelineError(error) || error.code !== 'BACKUP_NOT_FOUND' || ref === 'latest' || ref === 'latest-verified') throw error;
    const left = await repo.store.list(`backups/${ref}/`);
    if (!left.length) throw error;
    throw new LifelineError(
      'BACKUP_NOT_FOUND',
      `Backup ${ref} has no manifest.json: it never finished, or the manifest was removed (${left.length} object(s) remain)`,
      { hint: 'Without its manifest a backup cannot be checked or restored; pick another one (`lifeline list`).' },
    );
  }
}
