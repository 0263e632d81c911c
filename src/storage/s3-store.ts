import './s3/quiet.js';
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { LifelineError, abortError, throwIfAborted } from '../errors.js';
import { httpStatus, isNetworkError, isNotFound, s3Error, s3ErrorCode, type S3ErrorContext } from './s3/errors.js';
import { resolveS3, type ResolvedS3, type S3Settings } from './s3/settings.js';
import { MAX_PARTS, partPlan } from './s3/part-plan.js';
import { uploadInParts } from './s3/part-upload.js';
import { chunkCollector } from '../young-garbage.js';
import { formatBytes } from '../format.js';
import {
  assertValidKey,
  assertValidPrefix,
  type GetOptions,
  type ListOptions,
  type ObjectInfo,
  type PutOptions,
  type PutResult,
  type Store,
  type StoreUsage,
} from './store.js';

/** Object metadata lifeline writes (x-amz-meta-*). */
export const META_SHA256 = 'lifeline-sha256';
const META_PUT = 'lifeline-put';
/** Keys per DeleteObjects call: S3's limit. */
export const DELETE_BATCH = 1000;
/** A body its caller bounds by this much (sizeHint) is one PutObject whatever the part size: a WAL segment is one request. */
const SINGLE_PUT_HINT = 32 * 1024 * 1024;
/** Resumed reads (Range from the last byte received, same ETag) after a dropped connection. */
const READ_RESUMES = 3;

export interface S3StoreOptions {
  /** s3://bucket[/prefix][?region=..&endpoint=..] */
  url: string;
  /** repository.s3 from the config. */
  settings?: S3Settings;
  env?: NodeJS.ProcessEnv;
  /** Explicit credentials (tests); otherwise the AWS default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Milliseconds to establish a connection (default 5 s) and of socket inactivity (default 120 s). */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Keys per ListObjectsV2 page (default and S3's maximum: 1000); tests use small pages. */
  listPageSize?: number;
  /** Parts per multipart upload (default and S3's maximum: 10,000); tests use a few. */
  maxParts?: number;
}

/** What HEAD tells about an object, beyond ObjectInfo. */
export interface S3ObjectDetails extends ObjectInfo {
  etag?: string;
  /** The sha256 lifeline computed while uploading (single-part uploads; multipart ones cannot carry it). */
  sha256?: string;
}

/**
 * A Store over an S3 bucket + prefix (AWS or S3-compatible). Puts up to one part are a single
 * PutObject with Content-MD5 and the sha256 as metadata; larger ones are multipart uploads through
 * a fixed pool of part buffers (s3/part-upload.ts), visible only once completed and aborted on
 * failure. Every upload is checked afterwards with HEAD: size, and the ETag against the MD5s
 * computed while streaming.
 */
export class S3Store implements Store {
  readonly location: string;
  readonly remote = true;
  readonly client: S3Client;
  readonly config: ResolvedS3;
  readonly #listPageSize: number;
  readonly #maxParts: number;
  /** s3rver fails truncated ListObjectsV2 pages (its tokens need DES, gone from OpenSSL 3): list with V1 there. */
  #listV1 = false;

  constructor(options: S3StoreOptions) {
    this.#listPageSize = Math.min(1000, Math.max(1, options.listPageSize ?? 1000));
    this.#maxParts = Math.min(MAX_PARTS, Math.max(2, options.maxParts ?? MAX_PARTS));
    this.config = resolveS3(options.url, options.settings, options.env ?? process.env);
    const { bucket, prefix, endpoint, region, forcePathStyle, checksum, maxAttempts, queueSize } = this.config;
    this.location = `s3://${bucket}${prefix ? `/${prefix.slice(0, -1)}` : ''}`;
    const sdkChecksum = checksum === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
    this.client = new S3Client({
      ...(region ? { region } : {}),
      ...(endpoint ? { endpoint } : {}),
      forcePathStyle,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      requestChecksumCalculation: sdkChecksum,
      responseChecksumValidation: sdkChecksum,
      maxAttempts,
      retryMode: 'standard',
      requestHandler: {
        connectionTimeout: options.connectionTimeoutMs ?? 5_000,
        requestTimeout: options.requestTimeoutMs ?? 120_000,
        httpAgent: { keepAlive: true, maxSockets: Math.max(16, queueSize * 2) },
        httpsAgent: { keepAlive: true, maxSockets: Math.max(16, queueSize * 2) },
      },
    });
    // S3-compatible servers that predate the SDK's CRC32 defaults want Content-MD5 on DeleteObjects.
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        const request = args.request as { body?: unknown; headers?: Record<string, string> };
        if (context.commandName === 'DeleteObjectsCommand' && typeof request.body === 'string' && request.headers) {
          request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
        }
        return next(args);
      },
      { step: 'build', name: 'lifelineDeleteContentMd5' },
    );
  }

  // ---- put ----------------------------------------------------------------------------------------

  async put(key: string, body: Readable | Buffer | string, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    const { signal, ifNotExists } = options;
    throwIfAborted(signal);
    const objectKey = this.#objectKey(key);
    const ctx = this.#ctx('write', key);
    const source = typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([Buffer.from(body)]) : body;
    const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
    const plan = partPlan({ partSize: this.config.partSize, queueSize: this.config.queueSize }, options.sizeHint, this.#maxParts);
    const digest = new UploadDigest(plan.partSize);
    let sourceError: unknown;
    const pull = async (): Promise<Buffer | undefined> => {
      let next: IteratorResult<Buffer | string>;
      try {
        next = await iterator.next();
      } catch (error) {
        sourceError = error;
        throw error;
      }
      if (next.done) return undefined;
      const bytes = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      digest.update(bytes);
      // S3 would refuse part maxParts + 1 only after every part before it was sent.
      if (digest.size > plan.partSize * this.#maxParts) {
        sourceError = new LifelineError('REPO_UNWRITABLE', `${this.location}/${key} is larger than one S3 upload holds (${this.#maxParts} parts of ${formatBytes(plan.partSize)})`, {
          hint: 'Raise repository.s3.partSizeMb, e.g. lifeline config set repository.s3 \'{"partSizeMb": 64}\' (S3 allows 10,000 parts per object).',
        });
        throw sourceError;
      }
      return bytes;
    };
    const drain = async () => {
      while ((await pull()) !== undefined) throwIfAborted(signal);
    };
    const result = (created: boolean): PutResult => ({ key, size: digest.size, sha256: digest.sha256(), created });

    try {
      // Servers that ignore If-None-Match (s3rver) still refuse an existing key here.
      if (ifNotExists && (await this.#head(objectKey, ctx))) {
        await drain();
        return result(false);
      }
      // Buffer up to one part (+1 chunk), or a small hint: a body that ends within it is a single PutObject.
      const singleUpTo = options.sizeHint !== undefined && options.sizeHint <= SINGLE_PUT_HINT ? Math.max(plan.partSize, options.sizeHint) : plan.partSize;
      const first: Buffer[] = [];
      let firstSize = 0;
      let ended = false;
      while (firstSize <= singleUpTo) {
        const bytes = await pull();
        throwIfAborted(signal);
        if (bytes === undefined) {
          ended = true;
          break;
        }
        first.push(bytes);
        firstSize += bytes.length;
      }
      const token = randomUUID();
      const common = this.#writeParams();
      try {
        if (ended) {
          const data = Buffer.concat(first);
          first.length = 0;
          await this.client.send(
            new PutObjectCommand({
              Bucket: this.config.bucket,
              Key: objectKey,
              Body: data,
              ContentLength: data.length,
              ContentMD5: digest.md5Base64(),
              Metadata: { [META_SHA256]: digest.sha256(), [META_PUT]: token },
              ...(ifNotExists ? { IfNoneMatch: '*' } : {}),
              ...common,
            }),
            { abortSignal: signal },
          );
        } else {
          await uploadInParts({
            client: this.client,
            create: {
              Bucket: this.config.bucket,
              Key: objectKey,
              Metadata: { [META_PUT]: token },
              // Object Lock buckets refuse parts without a checksum.
              ...(this.config.objectLock ? { ChecksumAlgorithm: 'CRC32' as const } : {}),
              ...common,
            },
            plan,
            next: async () => first.shift() ?? (await pull()),
            ifNoneMatch: ifNotExists,
            signal,
          });
        }
      } catch (error) {
        if (ifNotExists && isPreconditionFailure(error)) {
          await drain();
          return result(false);
        }
        throw error;
      }
      return await this.#checkUpload(key, objectKey, digest, token, Boolean(ifNotExists), ended, ctx);
    } catch (error) {
      if (!source.destroyed) source.destroy();
      if (sourceError !== undefined) throw sourceError;
      if (signal?.aborted) throw abortError(signal);
      throw s3Error(error, ctx);
    }
  }

  /** HEAD after the upload: the object is ours, its size and ETag match what we sent. */
  async #checkUpload(
    key: string,
    objectKey: string,
    digest: UploadDigest,
    token: string,
    ifNotExists: boolean,
    single: boolean,
    ctx: S3ErrorContext,
  ): Promise<PutResult> {
    const sha256 = digest.sha256();
    const head = await this.#head(objectKey, ctx);
    if (!head) {
      throw new LifelineError('REPO_UNWRITABLE', `S3 accepted ${this.location}/${key} but does not show it afterwards`, {
        hint: 'Another process may have deleted it, or the bucket is not strongly consistent; run the command again.',
      });
    }
    if (head.Metadata?.[META_PUT] !== token) {
      // Someone else's put landed after ours: for ifNotExists they won the race (servers that
      // ignore If-None-Match); for a plain put the last writer wins, as with rename().
      return { key, size: digest.size, sha256, created: !ifNotExists };
    }
    const problem = this.#uploadProblem(head, digest, single);
    if (problem) {
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.config.bucket, Delete: { Objects: [{ Key: objectKey }], Quiet: true } })).catch(() => undefined);
      throw new LifelineError('REPO_UNWRITABLE', `S3 stored ${this.location}/${key} differently from what lifeline sent (${problem}); the object was removed`, {
        hint: 'Something between lifeline and the server altered the upload (a proxy, or a server that needs repository.s3.checksum = when_required); run it again.',
      });
    }
    return { key, size: digest.size, sha256, created: true };
  }

  #uploadProblem(head: HeadObjectCommandOutput, digest: UploadDigest, single: boolean): string | undefined {
    if (head.ContentLength !== digest.size) return `${head.ContentLength} bytes stored, ${digest.size} sent`;
    const stored = head.Metadata?.[META_SHA256];
    if (stored !== undefined && stored !== digest.sha256()) return `sha256 ${stored} recorded, ${digest.sha256()} sent`;
    // SSE-KMS and SSE-C ETags are not MD5s; otherwise S3 computes them from the bytes it received.
    const etag = head.ETag?.replace(/"/g, '').toLowerCase();
    if (!etag || this.config.sse === 'aws:kms' || head.SSECustomerAlgorithm || !/^[0-9a-f]{32}(-\d+)?$/.test(etag)) return undefined;
    const expected = single ? [digest.md5Hex()] : [digest.multipartEtag(), digest.md5Hex()];
    return expected.includes(etag) ? undefined : `ETag ${etag}, expected ${expected.join(' or ')}`;
  }

  #writeParams(): Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId' | 'ObjectLockMode' | 'ObjectLockRetainUntilDate'> {
    const { sse, kmsKeyId, objectLock } = this.config;
    return {
      ...(sse ? { ServerSideEncryption: sse } : {}),
      ...(sse === 'aws:kms' && kmsKeyId ? { SSEKMSKeyId: kmsKeyId } : {}),
      ...(objectLock
        ? {
            ObjectLockMode: objectLock.mode === 'compliance' ? 'COMPLIANCE' : 'GOVERNANCE',
            ObjectLockRetainUntilDate: new Date(Date.now() + objectLock.days * 86_400_000),
          }
        : {}),
    };
  }

  // ---- get ----------------------------------------------------------------------------------------

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    assertValidKey(key);
    const { signal, start, end } = options;
    if (start !== undefined && !(Number.isInteger(start) && start >= 0)) throw new Error(`Invalid range start ${start}`);
    if (end !== undefined && !(Number.isInteger(end) && end >= (start ?? 0))) throw new Error(`Invalid range end ${end}`);
    throwIfAborted(signal);
    const objectKey = this.#objectKey(key);
    const ctx = this.#ctx('read', key);
    let first: GetObjectCommandOutput | undefined;
    try {
      first = await this.#getObject(objectKey, start ?? 0, end, undefined, signal);
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      if (isNotFound(error)) throw this.#notFound(key);
      throw s3Error(error, ctx);
    }
    if (first === undefined) return Readable.from([]); // a range past the end, as fs streams do
    const expected = first.ContentLength;
    const etag = first.ETag;
    const self = this;
    let current: GetObjectCommandOutput = first;
    async function* relay(): AsyncGenerator<Buffer> {
      let received = 0;
      const collect = chunkCollector();
      for (let resumes = 0; ; ) {
        const body = current.Body as Readable;
        try {
          for await (const chunk of body) {
            const bytes = chunk as Buffer;
            received += bytes.length;
            collect(bytes.length);
            yield bytes;
          }
          if (expected !== undefined && received < expected) {
            throw Object.assign(new Error(`connection closed after ${received} of ${expected} bytes`), { code: 'ECONNRESET' });
          }
          return;
        } catch (error) {
          body.destroy();
          if (signal?.aborted) throw abortError(signal);
          if (error instanceof LifelineError || resumes >= READ_RESUMES || !isNetworkError(error)) throw s3Error(error, ctx);
          resumes++;
          try {
            // Same object (If-Match), from the first byte we do not have yet.
            const next = await self.#getObject(objectKey, (start ?? 0) + received, end, etag, signal);
            if (!next) throw s3Error(error, ctx);
            current = next;
          } catch (retryError) {
            if (signal?.aborted) throw abortError(signal);
            if (isPreconditionFailure(retryError)) {
              throw new LifelineError('REPO_READ', `${self.location}/${key} changed while it was being read`, {
                hint: 'Another process rewrote it; run the command again.',
                cause: retryError,
              });
            }
            throw s3Error(retryError, ctx);
          }
        }
      }
    }
    const output = Readable.from(relay(), { objectMode: false });
    if (signal) {
      const onAbort = () => {
        (current.Body as Readable | undefined)?.destroy();
        output.destroy(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      output.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    output.once('close', () => (current.Body as Readable | undefined)?.destroy());
    return output;
  }

  /** GetObject from `start` (to `end`, inclusive); undefined for a range past the end. */
  async #getObject(objectKey: string, start: number, end: number | undefined, ifMatch: string | undefined, signal?: AbortSignal) {
    const range = start > 0 || end !== undefined ? `bytes=${start}-${end ?? ''}` : undefined;
    try {
      return await this.client.send(
        new GetObjectCommand({ Bucket: this.config.bucket, Key: objectKey, ...(range ? { Range: range } : {}), ...(ifMatch ? { IfMatch: ifMatch } : {}) }),
        { abortSignal: signal },
      );
    } catch (error) {
      if (s3ErrorCode(error) === 'InvalidRange' || httpStatus(error) === 416) return undefined;
      throw error;
    }
  }

  // ---- head, list, delete -----------------------------------------------------------------------

  async head(key: string): Promise<ObjectInfo | undefined> {
    const details = await this.details(key);
    return details ? { key: details.key, size: details.size, modifiedAt: details.modifiedAt } : undefined;
  }

  /** HEAD with the ETag and the recorded sha256 (single-part uploads); undefined when absent. */
  async details(key: string): Promise<S3ObjectDetails | undefined> {
    assertValidKey(key);
    const head = await this.#head(this.#objectKey(key), this.#ctx('read', key));
    if (!head) return undefined;
    return {
      key,
      size: head.ContentLength ?? 0,
      modifiedAt: head.LastModified ?? new Date(0),
      ...(head.ETag ? { etag: head.ETag.replace(/"/g, '') } : {}),
      ...(head.Metadata?.[META_SHA256] ? { sha256: head.Metadata[META_SHA256] } : {}),
    };
  }

  async #head(objectKey: string, ctx: S3ErrorContext): Promise<HeadObjectCommandOutput | undefined> {
    try {
      return await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: objectKey }));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw s3Error(error, ctx);
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ObjectInfo[]> {
    assertValidPrefix(prefix);
    const limit = options.limit ?? Infinity;
    const out: ObjectInfo[] = [];
    if (limit <= 0) return out;
    // Pages continue after the last key seen (StartAfter / Marker), the same on every server.
    let after: string | undefined;
    try {
      for (;;) {
        const page = await this.#listPage(this.config.prefix + prefix, after, Math.min(this.#listPageSize, limit - out.length));
        const contents = page.Contents ?? [];
        for (const object of contents) {
          const key = (object.Key ?? '').slice(this.config.prefix.length);
          // "Folder" markers made by consoles are not objects of the repository.
          if (key === '' || key.endsWith('/')) continue;
          out.push({ key, size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date(0) });
          if (out.length >= limit) return out;
        }
        if (!page.IsTruncated || contents.length === 0) break;
        after = contents[contents.length - 1].Key;
      }
    } catch (error) {
      throw s3Error(error, this.#ctx('list', prefix));
    }
    return out;
  }

  async #listPage(prefix: string, after: string | undefined, maxKeys: number) {
    const input = { Bucket: this.config.bucket, Prefix: prefix, MaxKeys: maxKeys };
    if (!this.#listV1) {
      try {
        return await this.client.send(new ListObjectsV2Command({ ...input, ...(after !== undefined ? { StartAfter: after } : {}) }));
      } catch (error) {
        if (s3ErrorCode(error) !== 'InternalError') throw error;
        // Retried by the SDK already: if V1 answers, this server cannot page V2 listings.
      }
    }
    const page = await this.client.send(new ListObjectsCommand({ ...input, ...(after !== undefined ? { Marker: after } : {}) }));
    this.#listV1 = true;
    return page;
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) assertValidKey(key);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      let errors;
      try {
        const response = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.config.bucket,
            Delete: { Objects: batch.map((key) => ({ Key: this.#objectKey(key) })), Quiet: true },
          }),
        );
        errors = response.Errors ?? [];
      } catch (error) {
        throw s3Error(error, this.#ctx('delete', batch.length === 1 ? batch[0] : `${batch[0]} and ${batch.length - 1} more`));
      }
      const failed = errors.filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const [first] = failed;
        const key = (first.Key ?? '').slice(this.config.prefix.length);
        throw s3Error(
          Object.assign(new Error(first.Message ?? first.Code ?? 'delete failed'), { Code: first.Code, name: first.Code }),
          this.#ctx('delete', failed.length > 1 ? `${key} and ${failed.length - 1} more` : key),
        );
      }
    }
  }

  /** Aborts unfinished multipart uploads under `prefix` started before `olderThan`. */
  async deletePartial(prefix: string, options: { olderThan: Date }): Promise<{ count: number; bytes: number }> {
    assertValidPrefix(prefix);
    const ctx = this.#ctx('delete', `unfinished uploads under ${prefix || '/'}`);
    const stale: { Key: string; UploadId: string }[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.config.bucket,
            Prefix: this.config.prefix + prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        );
        for (const upload of page.Uploads ?? []) {
          if (upload.Key && upload.UploadId && upload.Initiated && upload.Initiated < options.olderThan) {
            stale.push({ Key: upload.Key, UploadId: upload.UploadId });
          }
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
    } catch (error) {
      // s3rver (and some small S3-compatible servers) cannot list uploads: nothing to do there.
      if (s3ErrorCode(error) === 'NotImplemented' || httpStatus(error) === 501) return { count: 0, bytes: 0 };
      throw s3Error(error, ctx);
    }
    let bytes = 0;
    for (const upload of stale) {
      try {
        const parts = await this.client.send(new ListPartsCommand({ Bucket: this.config.bucket, ...upload }));
        bytes += (parts.Parts ?? []).reduce((sum, part) => sum + (part.Size ?? 0), 0);
      } catch {
        // The size is informative only.
      }
      try {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.config.bucket, ...upload }));
      } catch (error) {
        if (s3ErrorCode(error) !== 'NoSuchUpload') throw s3Error(error, ctx);
      }
    }
    return { count: stale.length, bytes };
  }

  async usage(): Promise<StoreUsage> {
    return {};
  }

  /** Closes the HTTP agents (keep-alive sockets); the store is unusable afterwards. */
  destroy(): void {
    this.client.destroy();
  }

  #objectKey(key: string): string {
    return this.config.prefix + key;
  }

  #ctx(op: S3ErrorContext['op'], key: string): S3ErrorContext {
    return { op, what: `${this.location}/${key}`, bucket: this.config.bucket, endpoint: this.config.endpoint, region: this.config.region };
  }

  #notFound(key: string): LifelineError {
    return new LifelineError('OBJECT_NOT_FOUND', `No ${key} in the repository ${this.location}`, {
      hint: 'Check the repository location (--repo) and `lifeline list`.',
    });
  }
}

function isPreconditionFailure(error: unknown): boolean {
  const code = s3ErrorCode(error);
  return code === 'PreconditionFailed' || code === 'ConditionalRequestConflict' || httpStatus(error) === 412 || httpStatus(error) === 409;
}

/** sha256 and MD5 of the whole body, and the MD5 of each part as the upload cuts them. */
class UploadDigest {
  size = 0;
  readonly #partSize: number;
  readonly #sha256 = createHash('sha256');
  readonly #md5 = createHash('md5');
  readonly #partMd5s: Buffer[] = [];
  #part: Hash = createHash('md5');
  #partFill = 0;
  #sha256Hex?: string;
  #md5Digest?: Buffer;

  constructor(partSize: number) {
    this.#partSize = partSize;
  }

  update(bytes: Buffer): void {
    this.size += bytes.length;
    this.#sha256.update(bytes);
    this.#md5.update(bytes);
    let offset = 0;
    while (offset < bytes.length) {
      const take = Math.min(this.#partSize - this.#partFill, bytes.length - offset);
      this.#part.update(bytes.subarray(offset, offset + take));
      this.#partFill += take;
      offset += take;
      if (this.#partFill === this.#partSize) {
        this.#partMd5s.push(this.#part.digest());
        this.#part = createHash('md5');
        this.#partFill = 0;
      }
    }
  }

  sha256(): string {
    this.#sha256Hex ??= this.#sha256.digest('hex');
    return this.#sha256Hex;
  }

  #md5Final(): Buffer {
    this.#md5Digest ??= this.#md5.digest();
    return this.#md5Digest;
  }

  md5Hex(): string {
    return this.#md5Final().toString('hex');
  }

  md5Base64(): string {
    return this.#md5Final().toString('base64');
  }

  /** S3's multipart ETag: md5 of the parts' binary MD5s, "-" and the number of parts. */
  multipartEtag(): string {
    const parts = [...this.#partMd5s];
    if (this.#partFill > 0) parts.push(this.#part.copy().digest());
    return `${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-${parts.length}`;
  }
}
