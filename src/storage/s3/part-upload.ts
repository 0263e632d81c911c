import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompletedPart,
  type CreateMultipartUploadCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { setMaxListeners } from 'node:events';
import { abortError } from '../../errors.js';
import type { PartPlan } from './part-plan.js';
import { collectYoungGarbage } from '../../young-garbage.js';

export interface PartUploadOptions {
  client: S3Client;
  /** Bucket, Key and what the object carries (metadata, encryption, retention). */
  create: CreateMultipartUploadCommandInput & { Bucket: string; Key: string };
  plan: PartPlan;
  /** The next chunk of the body, undefined at its end. */
  next: () => Promise<Buffer | undefined>;
  /** Sent on CompleteMultipartUpload, where S3 honours it. */
  ifNoneMatch?: boolean;
  signal?: AbortSignal;
}

/**
 * A multipart upload through a fixed pool of part buffers, `plan.queueSize` in flight and one
 * filling: the chunks are copied into a free buffer, and a buffer is reused once its part is
 * stored. The memory the parts take is a hard bound, (queueSize + 1) × partSize, and they make no
 * garbage (lib-storage concatenates a new buffer per part, which V8 frees only when it gets to it).
 * Any failure aborts the parts in flight and the upload, so nothing of it becomes visible.
 */
export async function uploadInParts({ client, create, plan, next, ifNoneMatch, signal }: PartUploadOptions): Promise<void> {
  const { Bucket, Key } = create;
  const checksum = create.ChecksumAlgorithm;
  const created = await client.send(new CreateMultipartUploadCommand(create), { abortSignal: signal });
  const UploadId = created.UploadId;
  if (!UploadId) throw new Error(`CreateMultipartUpload for ${Key} returned no upload id`);

  const stop = new AbortController();
  // One listener per part in flight, which the SDK removes when its request closes: not a leak.
  setMaxListeners(0, stop.signal);
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const completed: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  const free: Buffer[] = [];
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    failure ??= { error };
    stop.abort();
  };
  const send = (PartNumber: number, buffer: Buffer, length: number) => {
    const sent = client
      .send(
        new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: buffer.subarray(0, length), ContentLength: length, ...(checksum ? { ChecksumAlgorithm: checksum } : {}) }),
        { abortSignal: stop.signal },
      )
      .then(
        (output) => {
          completed.push({ PartNumber, ETag: output.ETag, ...(output.ChecksumCRC32 ? { ChecksumCRC32: output.ChecksumCRC32 } : {}) });
          free.push(buffer);
        },
        fail,
      )
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  };
  const check = () => {
    if (signal?.aborted) throw abortError(signal);
    if (failure) throw failure.error;
  };

  try {
    let rest: Buffer | undefined;
    let ended = false;
    for (let partNumber = 1; !ended; partNumber++) {
      const buffer = free.pop() ?? Buffer.allocUnsafeSlow(plan.partSize);
      let fill = 0;
      while (fill < plan.partSize) {
        rest ??= await next();
        check();
        if (rest === undefined) {
          ended = true;
          break;
        }
        const copied = rest.copy(buffer, fill);
        fill += copied;
        rest = copied < rest.length ? rest.subarray(copied) : undefined;
      }
      // The chunks copied into this part are garbage now: free them before they pile up.
      collectYoungGarbage();
      if (fill === 0) break;
      while (inFlight.size >= plan.queueSize) {
        await Promise.race(inFlight);
        check();
      }
      send(partNumber, buffer, fill);
    }
    await Promise.all(inFlight);
    check();
    completed.sort((a, b) => a.PartNumber! - b.PartNumber!);
    await client.send(
      new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: completed }, ...(ifNoneMatch ? { IfNoneMatch: '*' } : {}) }),
      { abortSignal: signal },
    );
  } catch (error) {
    stop.abort();
    await Promise.allSettled(inFlight);
    // Unfinished uploads are never visible as objects; when this fails too (the server is down),
    // deletePartial() and the bucket's lifecycle rule remove what remains.
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
