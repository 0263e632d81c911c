import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Store } from '../../src/storage/s3-store.js';
import { startS3rver, type S3TestServer } from './helpers/s3rver.js';

/*
 * s3rver has no Object Lock (nor SSE): it ignores the headers. These tests check what lifeline
 * SENDS, recorded from the real SDK client's middleware stack on the wire to a real HTTP server,
 * after signing (finalizeRequest), not a mocked client.
 */

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3rver({ buckets: ['lifeline-lock'] });
});
afterAll(() => server?.cleanup());

function recordHeaders(store: S3Store): { name: string; headers: Record<string, string> }[] {
  const seen: { name: string; headers: Record<string, string> }[] = [];
  store.client.middlewareStack.add(
    (next, context) => async (args) => {
      const headers = (args.request as { headers: Record<string, string> }).headers;
      if (!seen.some((c) => c.headers['amz-sdk-invocation-id'] === headers['amz-sdk-invocation-id'])) {
        seen.push({ name: context.commandName ?? '', headers: { ...headers } });
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'lockRecorder', priority: 'low' },
  );
  return seen;
}

describe('Object Lock and server-side encryption requests', () => {
  it('every object written carries the retention mode and a retain-until date `days` ahead, parts carry checksums', async () => {
    const store = server.store('lifeline-lock', 'locked', { objectLock: { mode: 'compliance', days: 30 }, sse: 'AES256', partSizeMb: 5 });
    const seen = recordHeaders(store);
    const before = Date.now();
    await store.put('backups/a/manifest.json', '{}');
    await store.put('backups/a/data.dump', Readable.from([randomBytes(11 * 1024 * 1024)]));
    await store.put('wal/00000001/000000010000000000000001.zst', 'wal', { ifNotExists: true });

    const writes = seen.filter((c) => c.name === 'PutObjectCommand' || c.name === 'CreateMultipartUploadCommand');
    expect(writes.map((c) => c.name)).toEqual(['PutObjectCommand', 'CreateMultipartUploadCommand', 'PutObjectCommand']);
    for (const write of writes) {
      expect(write.headers['x-amz-object-lock-mode']).toBe('COMPLIANCE');
      const until = Date.parse(write.headers['x-amz-object-lock-retain-until-date']);
      expect(until - before).toBeGreaterThanOrEqual(30 * 86_400_000 - 1000);
      expect(until - Date.now()).toBeLessThanOrEqual(30 * 86_400_000 + 1000);
      expect(write.headers['x-amz-server-side-encryption']).toBe('AES256');
    }
    // S3 refuses writes to Object Lock buckets without Content-MD5 or an x-amz-checksum.
    for (const put of seen.filter((c) => c.name === 'PutObjectCommand')) expect(put.headers['content-md5']).toBeDefined();
    const parts = seen.filter((c) => c.name === 'UploadPartCommand');
    expect(parts).toHaveLength(3);
    for (const part of parts) expect(part.headers['x-amz-checksum-crc32']).toBeDefined();
  });

  it('governance mode and SSE-KMS with a key id', async () => {
    const store = server.store('lifeline-lock', 'kms', { objectLock: { mode: 'governance', days: 7 }, sse: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/test' });
    const seen = recordHeaders(store);
    await store.put('lifeline.json', '{}');
    const put = seen.find((c) => c.name === 'PutObjectCommand')!;
    expect(put.headers['x-amz-object-lock-mode']).toBe('GOVERNANCE');
    expect(put.headers['x-amz-server-side-encryption']).toBe('aws:kms');
    expect(put.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('arn:aws:kms:eu-west-1:111122223333:key/test');
  });

  it('without Object Lock configured nothing asks for retention', async () => {
    const store = server.store('lifeline-lock', 'plain');
    const seen = recordHeaders(store);
    await store.put('lifeline.json', '{}');
    expect(Object.keys(seen[seen.length - 1].headers).filter((h) => h.startsWith('x-amz-object-lock'))).toEqual([]);
  });
});
