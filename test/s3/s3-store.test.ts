import { PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DELETE_BATCH, META_SHA256, type S3Store } from '../../src/storage/s3-store.js';
import { lifelineError, readAll, sha256 } from '../storage/helpers.js';
import { startS3rver, type S3TestServer } from './helpers/s3rver.js';

let server: S3TestServer;
let store: S3Store;
let n = 0;
const fresh = (settings = {}) => server.store('lifeline-test', `t${++n}`, settings);

beforeAll(async () => {
  server = await startS3rver({ buckets: ['lifeline-test'] });
  store = fresh();
});
afterAll(() => server?.cleanup());

/** The body as a pipe delivers it: 64 KiB chunks. */
function chunked(data: Buffer): Buffer[] {
  return Array.from({ length: Math.ceil(data.length / 65536) }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));
}

/** Commands the client sent, by name (the SDK's own middleware stack, a real HTTP exchange). */
function recordCommands(target: S3Store): { name: string; input: Record<string, unknown>; headers: Record<string, string> }[] {
  const seen: { name: string; input: Record<string, unknown>; headers: Record<string, string> }[] = [];
  target.client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers: Record<string, string> };
      // One entry per command, not per attempt (the SDK retries inside this step).
      const id = request.headers['amz-sdk-invocation-id'];
      if (id && seen.some((c) => c.headers['amz-sdk-invocation-id'] === id)) return next(args);
      seen.push({ name: context.commandName ?? '', input: args.input as Record<string, unknown>, headers: { ...request.headers } });
      return next(args);
    },
    { step: 'finalizeRequest', name: `recorder${Math.random()}`, priority: 'low' },
  );
  return seen;
}

describe('S3Store basics', () => {
  it('puts, gets, heads and lists, with the sha256 recorded as metadata', async () => {
    const result = await store.put('backups/a/manifest.json', '{"x":1}');
    expect(result).toEqual({ key: 'backups/a/manifest.json', size: 7, sha256: sha256('{"x":1}'), created: true });
    expect((await readAll(await store.get('backups/a/manifest.json'))).toString()).toBe('{"x":1}');
    const head = await store.head('backups/a/manifest.json');
    expect(head).toMatchObject({ key: 'backups/a/manifest.json', size: 7 });
    expect((await store.details('backups/a/manifest.json'))?.sha256).toBe(sha256('{"x":1}'));
    expect(await store.head('backups/a/nope')).toBeUndefined();
    expect((await store.list('backups/')).map((o) => o.key)).toEqual(['backups/a/manifest.json']);
    expect(store.location).toMatch(/^s3:\/\/lifeline-test\/t\d+$/);
  });

  it('reads ranges with an inclusive end, and past the end reads nothing', async () => {
    await store.put('r/obj', 'abcdefghij');
    expect((await readAll(await store.get('r/obj', { start: 2, end: 4 }))).toString()).toBe('cde');
    expect((await readAll(await store.get('r/obj', { start: 7 }))).toString()).toBe('hij');
    expect((await readAll(await store.get('r/obj', { start: 50 }))).toString()).toBe('');
  });

  it('a missing key is OBJECT_NOT_FOUND', async () => {
    const error = await lifelineError(store.get('missing/key'));
    expect(error.code).toBe('OBJECT_NOT_FOUND');
  });

  it('ifNotExists keeps the first object and reports created: false', async () => {
    const first = await store.put('wal/00000001/seg', 'one', { ifNotExists: true });
    const second = await store.put('wal/00000001/seg', 'two!', { ifNotExists: true });
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ created: false, size: 4, sha256: sha256('two!') });
    expect((await readAll(await store.get('wal/00000001/seg'))).toString()).toBe('one');
  });

  it('sends If-None-Match: * with ifNotExists (servers that honour it make it atomic)', async () => {
    const s = fresh();
    const seen = recordCommands(s);
    await s.put('claim', 'x', { ifNotExists: true });
    const put = seen.find((c) => c.name === 'PutObjectCommand');
    expect(put?.headers['if-none-match']).toBe('*');
    expect(put?.headers['content-md5']).toBeDefined();
  });

  it('uploads through a pool of queueSize + 1 part buffers, reused: the parts in flight and their memory are bounded', async () => {
    const partSize = 5 * 1024 * 1024;
    const s = fresh({ partSizeMb: 5, queueSize: 2 });
    // Parts are held at the wire until two are in flight at once, so the pool must be full.
    let inFlight = 0;
    let most = 0;
    let open: () => void;
    const twoInFlight = new Promise<void>((resolve) => (open = resolve));
    s.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'UploadPartCommand') return next(args);
        most = Math.max(most, ++inFlight);
        if (inFlight === 2) open();
        await twoInFlight;
        try {
          return await next(args);
        } finally {
          inFlight--;
        }
      },
      { step: 'initialize', name: 'holdParts' },
    );
    const allocations = vi.spyOn(Buffer, 'allocUnsafeSlow');
    const data = randomBytes(6 * partSize + 4321);
    let partBuffers: number;
    try {
      const result = await s.put('backups/p/data.dump', Readable.from(chunked(data)));
      expect(result).toMatchObject({ size: data.length, sha256: sha256(data), created: true });
    } finally {
      partBuffers = allocations.mock.calls.filter(([size]) => size === partSize).length;
      allocations.mockRestore();
    }
    expect(most).toBe(2);
    // Seven parts through three buffers: each reused part is the right bytes (sha256 of the object, ETag).
    expect(partBuffers).toBe(3);
    expect(sha256(await readAll(await s.get('backups/p/data.dump')))).toBe(sha256(data));
  });

  it('uploads large bodies in parts and checks size and ETag afterwards', async () => {
    const s = fresh({ partSizeMb: 5, queueSize: 2 });
    const seen = recordCommands(s);
    const data = randomBytes(12 * 1024 * 1024 + 123);
    const result = await s.put('backups/b/data.dump', Readable.from(chunked(data)));
    expect(result).toMatchObject({ size: data.length, sha256: sha256(data), created: true });
    expect(seen.filter((c) => c.name === 'UploadPartCommand')).toHaveLength(3);
    expect(seen.some((c) => c.name === 'CompleteMultipartUploadCommand')).toBe(true);
    expect(sha256(await readAll(await s.get('backups/b/data.dump')))).toBe(sha256(data));
    expect((await s.head('backups/b/data.dump'))?.size).toBe(data.length);
  });

  it('sizes parts by the size hint, so that an upload fits in the parts S3 allows', async () => {
    // Four parts at most here (S3: 10,000): 5 MiB parts hold 20 MiB, a 40 MiB hint asks for 12 MiB parts (a hint up to 32 MiB would make it one PutObject).
    const s = server.store('lifeline-test', `t${++n}`, { partSizeMb: 5, queueSize: 2 }, { maxParts: 4 });
    const seen = recordCommands(s);
    const data = randomBytes(40 * 1024 * 1024);
    const result = await s.put('backups/h/data.dump', Readable.from(chunked(data)), { sizeHint: data.length });
    expect(result).toMatchObject({ size: data.length, sha256: sha256(data), created: true });
    expect(seen.filter((c) => c.name === 'UploadPartCommand')).toHaveLength(4);
    expect(sha256(await readAll(await s.get('backups/h/data.dump')))).toBe(sha256(data));
  });

  it('a body bounded by a small hint (a WAL segment) is one PutObject past the part size; an unbounded one is not', async () => {
    const s = fresh({ partSizeMb: 5 });
    const seen = recordCommands(s);
    const data = randomBytes(6 * 1024 * 1024 + 99);
    const hinted = await s.put('wal/seg', Readable.from(chunked(data)), { sizeHint: 7 * 1024 * 1024, ifNotExists: true });
    expect(hinted).toMatchObject({ size: data.length, created: true });
    expect(seen.map((c) => c.name)).toEqual(['HeadObjectCommand', 'PutObjectCommand', 'HeadObjectCommand']);
    expect((await s.details('wal/seg'))?.sha256).toBe(sha256(data));
    await s.put('wal/unbounded', Readable.from(chunked(data)));
    expect(seen.filter((c) => c.name === 'UploadPartCommand')).toHaveLength(2);
  });

  it('an upload that outgrows its parts fails before S3 refuses the part after the last, naming the setting; nothing is visible', async () => {
    const s = server.store('lifeline-test', `t${++n}`, { partSizeMb: 5, queueSize: 2 }, { maxParts: 2 });
    const seen = recordCommands(s);
    async function* body() {
      for (let i = 0; i < 12; i++) yield randomBytes(1024 * 1024);
    }
    const error = await lifelineError(s.put('backups/i/data.dump', Readable.from(body())));
    expect(error.code).toBe('REPO_UNWRITABLE');
    expect(error.message).toMatch(/backups\/i\/data\.dump is larger than one S3 upload holds \(2 parts of 5\.0 MiB\)/);
    expect(error.hint).toMatch(/repository\.s3\.partSizeMb/);
    expect(seen.filter((c) => c.name === 'UploadPartCommand').length).toBeLessThanOrEqual(2);
    expect(await s.list('')).toEqual([]);
  });

  it('a part the server refuses stops the upload: S3\'s error, the upload aborted, nothing visible', async () => {
    const s = fresh({ partSizeMb: 5, queueSize: 2 });
    const seen = recordCommands(s);
    s.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCommand' && (args.input as { PartNumber?: number }).PartNumber === 3) {
          throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', Code: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
        }
        return next(args);
      },
      { step: 'initialize', name: 'refusePart3' },
    );
    const data = randomBytes(30 * 1024 * 1024);
    const error = await lifelineError(s.put('backups/r/data.dump', Readable.from(chunked(data))));
    expect(error.code).toBe('REPO_AUTH');
    expect(error.message).toMatch(/backups\/r\/data\.dump/);
    expect(seen.some((c) => c.name === 'AbortMultipartUploadCommand')).toBe(true);
    expect(seen.some((c) => c.name === 'CompleteMultipartUploadCommand')).toBe(false);
    // The source stopped being read: at most the pool's worth of parts after the refused one.
    expect(seen.filter((c) => c.name === 'UploadPartCommand').length).toBeLessThan(6);
    expect(await s.list('')).toEqual([]);
  });

  it('a body stream error is rethrown as it is and nothing is visible', async () => {
    const s = fresh({ partSizeMb: 5 });
    const boom = new Error('pg_dump died');
    async function* body() {
      yield randomBytes(6 * 1024 * 1024);
      yield randomBytes(1024);
      throw boom;
    }
    await expect(s.put('backups/c/data.dump', Readable.from(body()))).rejects.toBe(boom);
    expect(await s.list('')).toEqual([]);
  });

  it('an abort stops the upload and leaves nothing visible', async () => {
    const s = fresh({ partSizeMb: 5 });
    const controller = new AbortController();
    async function* body() {
      yield randomBytes(6 * 1024 * 1024);
      controller.abort();
      yield randomBytes(6 * 1024 * 1024);
    }
    const error = await lifelineError(s.put('backups/d/data.dump', Readable.from(body()), { signal: controller.signal }));
    expect(error.code).toBe('ABORTED');
    expect(await s.list('')).toEqual([]);
  });

  it('lists in pages and deletes in batches of 1000', async () => {
    const s = server.store('lifeline-test', `t${++n}`, {}, { listPageSize: 2 });
    const keys = ['many/a', 'many/b', 'many/c', 'many/d', 'many/e'];
    for (const key of keys) await s.put(key, key);
    const seen = recordCommands(s);
    expect((await s.list('many/')).map((o) => o.key)).toEqual(keys);
    // Pages of two (V1 with Marker after s3rver fails a truncated V2 page: see S3Store.#listPage).
    expect(seen.filter((c) => c.name === 'ListObjectsCommand').length).toBeGreaterThanOrEqual(3);
    expect((await s.list('many/', { limit: 3 })).map((o) => o.key)).toEqual(keys.slice(0, 3));
    // 1000 absent keys and the five real ones: two calls, absent keys are no error.
    const absent = Array.from({ length: DELETE_BATCH }, (_, i) => `gone/${i}`);
    seen.length = 0;
    await s.delete([...absent, ...keys]);
    const deletes = seen.filter((c) => c.name === 'DeleteObjectsCommand');
    expect(deletes.map((d) => ((d.input.Delete as { Objects: unknown[] }).Objects).length)).toEqual([DELETE_BATCH, 5]);
    expect(deletes[0].headers['content-md5']).toBeDefined();
    expect((await s.list('many/')).map((o) => o.key)).toEqual([]);
  });

  it('records the sha256 as metadata on single-part puts', async () => {
    const s = fresh();
    const seen = recordCommands(s);
    await s.put('lifeline.json', '{}');
    const put = seen.find((c) => c.name === 'PutObjectCommand');
    expect(put?.headers[`x-amz-meta-${META_SHA256}`]).toBe(sha256('{}'));
  });
});
