import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { isLifelineError } from '../../errors.js';
import type { Manifest } from '../../storage/manifest.js';
import type { Repository } from '../../storage/repository.js';
import type { ProgressCallback } from '../progress.js';
import type { VerifyCheck } from './types.js';
import { workQueue } from '../work-queue.js';
import { hashMeter } from '../hash-meter.js';

const OUTAGES = new Set(['REPO_UNREACHABLE', 'REPO_AUTH']);

/**
 * Level 1: every object is present and its size and sha256 (as stored) match the manifest. A
 * repository that cannot be reached or read with these credentials is not a failed check (the
 * backup may be fine): that error is thrown, with its own hint.
 */
export async function checkIntegrity(options: {
  repo: Repository;
  manifest: Manifest;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}): Promise<VerifyCheck[]> {
  const { repo, manifest, signal, onProgress } = options;
  const checks: VerifyCheck[] = new Array(manifest.objects.length);
  const total = manifest.objects.reduce((sum, o) => sum + o.size, 0);
  let done = 0;
  // A parallel dump is many objects: a few are read at once (each a request or two on S3).
  const reads = workQueue(4, async (index: number) => {
    checks[index] = await checkObject(manifest.objects[index]);
  });
  manifest.objects.forEach((_, index) => reads.add(index));
  await reads.drain();
  return checks;

  async function checkObject(object: Manifest['objects'][number]): Promise<VerifyCheck> {
    const key = repo.backupKey(manifest.id, object.name);
    const name = `object ${object.name}`;
    const info = await repo.store.head(key);
    if (!info) return { level: 'integrity', name, ok: false, detail: `missing from the repository (${key})` };
    if (info.size !== object.size) return { level: 'integrity', name, ok: false, detail: `size ${info.size} bytes, manifest says ${object.size} (truncated or replaced)` };
    try {
      const meter = hashMeter((bytes) => {
        done += bytes;
        onProgress?.({ phase: 'integrity', bytes: done, totalBytes: total });
      });
      const discard = new Writable({ write: (_chunk, _enc, callback) => callback() });
      await pipeline(await repo.store.get(key, { signal }), meter.stream, discard, { signal });
      const sha256 = meter.digest();
      return sha256 === object.sha256
        ? { level: 'integrity', name, ok: true, detail: `${object.size} bytes, sha256 ${sha256.slice(0, 12)}…` }
        : { level: 'integrity', name, ok: false, detail: `sha256 ${sha256} differs from the manifest's ${object.sha256} (content changed)` };
    } catch (error) {
      if (signal?.aborted || (isLifelineError(error) && OUTAGES.has(error.code))) throw error;
      return { level: 'integrity', name, ok: false, detail: isLifelineError(error) ? error.message : String(error) };
    }
  }
}
