import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '../../src/storage/local-store.js';
import { openStore } from '../../src/storage/open-store.js';
import { allFiles, lifelineError, makeTempDir, readAll, sha256 } from './helpers.js';

let dir: string;
let store: LocalStore;

beforeEach(async () => {
  dir = await makeTempDir();
  store = new LocalStore({ root: path.join(dir, 'repo') });
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('LocalStore basics', () => {
  it('puts, heads, gets, lists and deletes', async () => {
    const result = await store.put('backups/a/data.dump', 'hello world');
    expect(result).toEqual({ key: 'backups/a/data.dump', size: 11, sha256: sha256('hello world'), created: true });

    const info = await store.head('backups/a/data.dump');
    expect(info?.size).toBe(11);
    expect(info?.modifiedAt).toBeInstanceOf(Date);
    expect(await store.head('backups/a/nope')).toBeUndefined();
    expect(await store.head('backups/a')).toBeUndefined(); // a folder is not an object

    expect((await readAll(await store.get('backups/a/data.dump'))).toString()).toBe('hello world');

    await store.put('backups/a/verify/1.json', '{}');
    await store.put('backups/b/data.dump', Buffer.from('b'));
    await store.put('wal/00000001/x', 'w');
    expect((await store.list('backups/')).map((o) => o.key)).toEqual([
      'backups/a/data.dump',
      'backups/a/verify/1.json',
      'backups/b/data.dump',
    ]);
    expect((await store.list('backups/a')).map((o) => o.key)).toEqual(['backups/a/data.dump', 'backups/a/verify/1.json']);

    await store.delete(['backups/a/data.dump', 'backups/a/verify/1.json', 'backups/never']);
    expect((await store.list('backups/')).map((o) => o.key)).toEqual(['backups/b/data.dump']);
    // Emptied folders go too, as on S3.
    await expect(fs.stat(path.join(store.location, 'backups', 'a'))).rejects.toThrow();
  });

  it('lists in key order across folders and files, and honours limit', async () => {
    for (const key of ['a0', 'a/b', 'a.txt', 'a/a/z', 'b', 'A']) await store.put(key, key);
    const keys = (await store.list('')).map((o) => o.key);
    expect(keys).toEqual([...keys].sort());
    expect(keys).toEqual(['A', 'a.txt', 'a/a/z', 'a/b', 'a0', 'b']);
    expect((await store.list('', { limit: 3 })).map((o) => o.key)).toEqual(['A', 'a.txt', 'a/a/z']);
    expect((await store.list('a/')).map((o) => o.key)).toEqual(['a/a/z', 'a/b']);
  });

  it('reads an empty or missing repository as empty', async () => {
    expect(await store.list('')).toEqual([]);
    expect(await store.list('backups/')).toEqual([]);
    const error = await lifelineError(store.get('backups/x/manifest.json'));
    expect(error.code).toBe('OBJECT_NOT_FOUND');
  });

  it('serves byte ranges (end inclusive)', async () => {
    await store.put('f', '0123456789');
    expect((await readAll(await store.get('f', { start: 2, end: 5 }))).toString()).toBe('2345');
    expect((await readAll(await store.get('f', { start: 7 }))).toString()).toBe('789');
    expect((await readAll(await store.get('f', { end: 0 }))).toString()).toBe('0');
  });

  it('overwrites without ifNotExists', async () => {
    await store.put('k', 'one');
    await store.put('k', 'two');
    expect((await readAll(await store.get('k'))).toString()).toBe('two');
  });

  it('streams a large body with back-pressure, flushing as it grows, and hashes what it stored', async () => {
    // Past two background flushes (every 32 MiB), with chunks that differ so order counts.
    const count = 80;
    let produced = 0;
    const source = new Readable({
      read() {
        this.push(produced < count ? Buffer.alloc(1 << 20, produced++ % 251) : null);
      },
    });
    const result = await store.put('big', source);
    expect(result.size).toBe(count << 20);
    const stored = await readAll(await store.get('big'));
    expect(result.sha256).toBe(sha256(stored));
    expect([stored[0], stored[(33 << 20) + 5], stored.at(-1)]).toEqual([0, 33, 79]);
  });

  it('refuses keys that could escape the repository or hide as temp files', async () => {
    for (const key of ['../x', '/etc/passwd', 'a//b', 'a/./b', 'a/.tmp-x', 'a b', 'a/"b"', '']) {
      await expect(store.put(key, 'x')).rejects.toThrow(/Invalid store key/);
    }
  });

  it('get honours an AbortSignal while streaming', async () => {
    await store.put('big', Buffer.alloc(8 << 20, 1));
    const controller = new AbortController();
    const stream = await store.get('big', { signal: controller.signal });
    const reading = (async () => {
      for await (const _ of stream) controller.abort();
    })();
    const error = await lifelineError(reading);
    expect(error.code).toBe('ABORTED');
  });
});

describe('LocalStore atomic visibility', () => {
  it('an aborted put leaves nothing behind', async () => {
    const controller = new AbortController();
    async function* body() {
      yield Buffer.alloc(64 * 1024, 1);
      controller.abort();
      yield Buffer.alloc(64 * 1024, 2);
      await new Promise(() => undefined); // would hang forever without the abort
    }
    const error = await lifelineError(store.put('backups/x/data.dump', Readable.from(body()), { signal: controller.signal }));
    expect(error.code).toBe('ABORTED');
    expect(await store.list('')).toEqual([]);
    expect(await allFiles(store.location)).toEqual([]);
  });

  it('an already aborted signal writes nothing', async () => {
    const error = await lifelineError(store.put('k', 'x', { signal: AbortSignal.abort() }));
    expect(error.code).toBe('ABORTED');
    expect(await allFiles(store.location)).toEqual([]);
  });

  it('a source that fails midway leaves nothing and its own error surfaces', async () => {
    const boom = new Error('pg_dump exited with code 1');
    async function* body() {
      yield Buffer.alloc(256 * 1024, 1);
      throw boom;
    }
    await expect(store.put('backups/x/data.dump', Readable.from(body()))).rejects.toBe(boom);
    expect(await allFiles(store.location)).toEqual([]);
  });

  it('a failed overwrite keeps the previous object intact', async () => {
    await store.put('k', 'old');
    async function* body() {
      yield Buffer.from('new');
      throw new Error('boom');
    }
    await expect(store.put('k', Readable.from(body()))).rejects.toThrow('boom');
    expect((await readAll(await store.get('k'))).toString()).toBe('old');
    expect(await allFiles(store.location)).toEqual(['k']);
  });

  it('temp files of a put in progress are not listed', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const begun = new Promise<void>((resolve) => (started = resolve));
    async function* body() {
      yield Buffer.from('part one ');
      started();
      await gate;
      yield Buffer.from('part two');
    }
    const putting = store.put('backups/x/data.dump', Readable.from(body()));
    await begun;
    const onDisk = await allFiles(store.location);
    expect(onDisk.some((file) => path.basename(file).startsWith('.tmp-'))).toBe(true);
    expect(await store.list('')).toEqual([]);
    expect(await store.head('backups/x/data.dump')).toBeUndefined();
    release();
    await putting;
    expect((await store.list('')).map((o) => o.key)).toEqual(['backups/x/data.dump']);
  });
});

describe('LocalStore deletePartial', () => {
  it('removes old temp files of killed puts under a prefix, never objects', async () => {
    await store.put('backups/a/data.dump', 'kept');
    await store.put('wal/00000001/seg', 'kept');
    // What a SIGKILLed put leaves: a hidden temp file.
    const leftover = path.join(store.location, 'backups', 'b', '.tmp-data.dump-0123456789ab');
    await fs.mkdir(path.dirname(leftover), { recursive: true });
    await fs.writeFile(leftover, Buffer.alloc(1000));
    const walLeftover = path.join(store.location, 'wal', '00000001', '.tmp-seg2-0123456789ab');
    await fs.writeFile(walLeftover, 'x');

    expect(await store.deletePartial('backups/', { olderThan: new Date(Date.now() - 3600_000) })).toEqual({ count: 0, bytes: 0 });
    expect(await store.deletePartial('backups/', { olderThan: new Date(Date.now() + 1000) })).toEqual({ count: 1, bytes: 1000 });
    expect(await allFiles(store.location)).toEqual(['backups/a/data.dump', 'wal/00000001/.tmp-seg2-0123456789ab', 'wal/00000001/seg']);
    await expect(fs.stat(path.dirname(leftover))).rejects.toThrow(); // emptied folder removed
    expect(await store.deletePartial('', { olderThan: new Date(Date.now() + 1000) })).toEqual({ count: 1, bytes: 1 });
    expect(await allFiles(store.location)).toEqual(['backups/a/data.dump', 'wal/00000001/seg']);
  });
});

describe('LocalStore ifNotExists', () => {
  it('does not overwrite an existing key', async () => {
    expect((await store.put('k', 'first', { ifNotExists: true })).created).toBe(true);
    const second = await store.put('k', 'second', { ifNotExists: true });
    expect(second.created).toBe(false);
    expect(second.sha256).toBe(sha256('second'));
    expect((await readAll(await store.get('k'))).toString()).toBe('first');
    expect(await allFiles(store.location)).toEqual(['k']);
  });

  it('of many concurrent puts of one key exactly one creates, and its bytes stay', async () => {
    const bodies = Array.from({ length: 12 }, (_, i) => `writer ${i} `.repeat(1000));
    const results = await Promise.all(bodies.map((body) => store.put('wal/00000001/seg', body, { ifNotExists: true })));
    const winners = results.filter((r) => r.created);
    expect(winners).toHaveLength(1);
    const stored = (await readAll(await store.get('wal/00000001/seg'))).toString();
    expect(sha256(stored)).toBe(winners[0].sha256);
    expect(await allFiles(store.location)).toEqual(['wal/00000001/seg']);
  });
});

describe('LocalStore modes', () => {
  it('creates files 0600 and folders 0700 even with umask 0', async () => {
    const previous = process.umask(0);
    try {
      await store.put('backups/id/data.dump', 'x');
      await store.put('lifeline.json', '{}', { ifNotExists: true });
    } finally {
      process.umask(previous);
    }
    const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;
    expect(await mode(store.location)).toBe(0o700);
    expect(await mode(path.join(store.location, 'backups'))).toBe(0o700);
    expect(await mode(path.join(store.location, 'backups', 'id'))).toBe(0o700);
    expect(await mode(path.join(store.location, 'backups', 'id', 'data.dump'))).toBe(0o600);
    expect(await mode(path.join(store.location, 'lifeline.json'))).toBe(0o600);
  });
});

describe('LocalStore usage', () => {
  it('reports free and total bytes, also before the folder exists', async () => {
    const usage = await store.usage();
    expect(usage.totalBytes).toBeGreaterThan(0);
    expect(usage.freeBytes).toBeGreaterThanOrEqual(0);
    expect(usage.freeBytes).toBeLessThanOrEqual(usage.totalBytes!);
  });
});

describe('LocalStore not writable', () => {
  it('a repository path under a regular file is REPO_UNWRITABLE naming the path', async () => {
    const file = path.join(dir, 'plain-file');
    await fs.writeFile(file, 'not a folder');
    const blocked = new LocalStore({ root: path.join(file, 'repo') });
    const error = await lifelineError(blocked.put('backups/x/data.dump', 'x'));
    expect(error.code).toBe('REPO_UNWRITABLE');
    expect(error.message).toContain(file);
    expect(error.hint).toBeTruthy();
    // Reads of such a place are an empty repository, not a crash.
    expect(await blocked.list('')).toEqual([]);
  });
});

describe('openStore', () => {
  it('opens a local directory', async () => {
    const opened = await openStore(path.join(dir, 'r'));
    expect(opened.location).toBe(path.join(dir, 'r'));
  });

  it('opens s3:// as an S3Store; refuses bad S3 URLs, relative paths and other schemes with USAGE', async () => {
    const s3 = await openStore('s3://bucket-name/some/prefix', {});
    expect(s3.location).toBe('s3://bucket-name/some/prefix');
    (s3 as unknown as { destroy(): void }).destroy();
    expect((await lifelineError(openStore('s3://B/prefix', {}))).code).toBe('USAGE');
    expect((await lifelineError(openStore('relative/dir'))).code).toBe('USAGE');
    expect((await lifelineError(openStore('gs://bucket'))).code).toBe('USAGE');
  });
});
