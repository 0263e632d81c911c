import fsp from 'node:fs/promises';
import { freeBytes } from '../../fs-util.js';
import { formatBytes } from '../../format.js';
import type { Manifest } from '../../storage/manifest.js';
import { ReadThroughStore } from '../../storage/read-through-store.js';
import type { Repository } from '../../storage/repository.js';
import type { ProgressCallback } from '../progress.js';
import { makeScratchDir } from '../scratch.js';
import { stagingBytes } from './stage.js';

/**
 * Runs `use` with `repo` seen through local copies when it is remote (S3): the integrity check
 * that comes before anything is touched downloads each object once into a scratch folder under
 * `workDir`, and what reads the backup after it (staging for pg_restore -j, verify's archive
 * level) reads that copy instead of downloading the backup again.
 * The room asked for is the backup as stored plus what staging it for pg_restore -j could take,
 * so the copy never crowds out a staged restore; without that room the backup is read twice, as
 * before. The folder is removed when `use` settles.
 */
export async function withLocalCopies<T>(
  options: { repo: Repository; manifest: Manifest; workDir: string; onProgress?: ProgressCallback },
  use: (repo: Repository) => Promise<T>,
): Promise<T> {
  const { repo, manifest, workDir } = options;
  if (!repo.store.remote) return use(repo);
  const stored = manifest.objects.reduce((sum, o) => sum + o.size, 0);
  const wanted = Math.ceil((stored + (stagingBytes(manifest) ?? stored)) * 1.05) + 16 * 1024 * 1024;
  let free = 0;
  try {
    free = freeBytes(workDir);
  } catch {
    // No room we can measure: read twice.
  }
  if (free < wanted) {
    options.onProgress?.({
      phase: 'integrity',
      message: `${formatBytes(free)} free in ${workDir}, about ${formatBytes(wanted)} wanted for a local copy: backup ${manifest.id} is read from ${repo.location} twice (checked, then read by pg_restore)`,
    });
    return use(repo);
  }
  const dir = await makeScratchDir(workDir, 'copies-');
  try {
    const objects = new Set(manifest.objects.map((o) => repo.backupKey(manifest.id, o.name)));
    return await use(repo.withStore(new ReadThroughStore(repo.store, dir, objects)));
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
