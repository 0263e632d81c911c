import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifelineError, abortError, isLifelineError } from '../../errors.js';
import type { Manifest } from '../../storage/manifest.js';
import type { Repository } from '../../storage/repository.js';
import { decompressor } from '../compress/codec.js';
import { drainingSink } from '../draining-sink.js';
import { hashMeter } from '../hash-meter.js';
import { startTarExtract } from './tar-extract.js';

/**
 * Streams a base backup's tar out of the repository into `dataDir`: the stored bytes are hashed
 * on the way (sha256 as stored, against the manifest), decrypted, decompressed and extracted.
 * zstd and lz4 write straight into tar's stdin, so the plain tar never passes through Node.
 * Whatever fails, the rest of the object is still read and hashed, and the hash decides what to
 * say: a damaged object (REPO_CORRUPT, naming it) or a failed extraction (PITR_FAILED, in tar's
 * own words, e.g. a full disk). A truncated or missing object is refused before extracting.
 */
export async function extractBaseBackup(repo: Repository, backup: Manifest, dataDir: string, signal?: AbortSignal): Promise<void> {
  const object = backup.objects.find((o) => o.name.startsWith('base.tar'));
  if (!object) throw new LifelineError('REPO_CORRUPT', `Backup ${backup.id} has no base.tar object`);
  const corrupt = (why: string) =>
    new LifelineError('REPO_CORRUPT', `Base backup ${backup.id}: ${object.name} is corrupt (${why})`, {
      hint: 'The stored backup changed since it was taken; the partly extracted copy was removed. Use another base backup (`lifeline list`).',
    });
  const key = repo.backupKey(backup.id, object.name);
  const stored = await repo.store.head(key);
  if (!stored || stored.size !== object.size) {
    throw corrupt(stored ? `${stored.size} bytes in the repository, the manifest says ${object.size}` : 'missing from the repository');
  }

  const tar = startTarExtract(dataDir, signal);
  const codec = decompressor(backup.compression.algorithm);
  let input: Writable;
  let decoded: Promise<unknown>;
  let stopCodec = () => undefined as void;
  if (codec.startProcess) {
    const child = codec.startProcess(signal, { stdout: tar.input });
    // The decompressor holds its own copy of tar's stdin: ours must close for tar to see the end.
    tar.input.destroy();
    input = drainingSink(child.input!);
    decoded = child.done;
    stopCodec = child.kill;
  } else {
    const { stream, done } = codec.create(signal);
    input = drainingSink(stream);
    // A decoder that fails leaves tar waiting for the rest of its input: stop it.
    decoded = Promise.all([done, pipeline(stream, tar.sink)]).catch((error: unknown) => {
      tar.stop();
      throw error;
    });
  }
  decoded.catch(() => undefined);
  const meter = hashMeter();
  const decrypt = repo.decrypting(key, { encrypted: backup.encryption !== undefined });
  try {
    await pipeline(await repo.store.get(key, { signal }), meter.stream, decrypt, input);
  } catch (error) {
    // Reading the store or decrypting failed: nothing more will come.
    stopCodec();
    tar.stop();
    await Promise.allSettled([decoded, tar.result]);
    if (signal?.aborted) throw abortError(signal);
    if (isLifelineError(error) && ['REPO_CORRUPT', 'DECRYPT_FAILED'].includes(error.code)) throw corrupt(error.message);
    throw error;
  }
  const codecFailure = await decoded.then(
    () => undefined,
    (error: Error) => error,
  );
  const extracted = await tar.result;
  if (signal?.aborted) throw abortError(signal);
  const sha256 = meter.digest();
  if (sha256 !== object.sha256) throw corrupt(codecFailure?.message ?? `sha256 ${sha256}, the manifest says ${object.sha256}`);
  // The object is as stored: a failing tar (which also stops the decompressor) is the extraction's fault.
  if (!extracted.ok) throw new LifelineError('PITR_FAILED', `tar could not extract ${object.name}: ${extracted.detail}`, { hint: 'Check free space and permissions where the data directory goes.' });
  if (codecFailure) throw corrupt(codecFailure.message);
  fs.chmodSync(dataDir, 0o700);
}
