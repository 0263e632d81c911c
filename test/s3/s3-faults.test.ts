import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../src/storage/s3-store.js';
import { lifelineError, readAll, sha256 } from '../storage/helpers.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3TestServer } from './helpers/s3rver.js';

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3rver({ buckets: ['lifeline-faults'] });
});
afterAll(() => server?.cleanup());

const oneLine = (text: string) => expect(text).not.toContain('\n');

describe('S3 server stopped', () => {
  it('mid-upload: a clear error, nothing visible, and the same put works after a restart', async () => {
    const store = server.store('lifeline-faults', 'upload', { partSizeMb: 5, queueSize: 1, maxAttempts: 2 });
    const data = randomBytes(16 * 1024 * 1024);
    async function* dying() {
      yield data.subarray(0, 6 * 1024 * 1024);
      await server.kill();
      yield data.subarray(6 * 1024 * 1024);
    }
    const error = await lifelineError(store.put('backups/x/data.dump', Readable.from(dying())));
    expect(error.code).toBe('REPO_UNREACHABLE');
    expect(error.message).toContain(server.endpoint);
    expect(error.message).toContain('backups/x/data.dump');
    expect(error.hint).toMatch(/nothing was left half-written/);
    oneLine(error.message);

    await server.restart();
    expect(await store.list('')).toEqual([]);
    expect(await store.head('backups/x/data.dump')).toBeUndefined();
    const again = await store.put('backups/x/data.dump', Readable.from([data]));
    expect(again.sha256).toBe(sha256(data));
    expect(sha256(await readAll(await store.get('backups/x/data.dump')))).toBe(sha256(data));
  });

  it('mid-download: a clear error when it stays down; a read resumes where it was when it comes back', async () => {
    const store = server.store('lifeline-faults', 'download', { maxAttempts: 2 });
    const data = randomBytes(40 * 1024 * 1024);
    await store.put('big', Readable.from([data]));

    // Down for good: the read fails with the object and the server named.
    const stream = await store.get('big');
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    await server.kill();
    let failure: unknown;
    try {
      while (!(await iterator.next()).done);
    } catch (error) {
      failure = error;
    }
    expect(failure).toMatchObject({ code: 'REPO_UNREACHABLE' });
    expect((failure as Error).message).toContain('s3://lifeline-faults/download/big');
    oneLine((failure as Error).message);

    // Back before the reader gives up: the read resumes with a Range request and completes.
    await server.restart();
    const again = await store.get('big');
    const chunks: Buffer[] = [];
    let killed = false;
    for await (const chunk of again) {
      chunks.push(chunk as Buffer);
      if (!killed) {
        killed = true;
        await server.kill();
        await server.restart();
      }
    }
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(data));
  });
});

describe('S3 refusals: one line and a hint', () => {
  it('wrong credentials (s3rver checks the access key id; it accepts any secret)', async () => {
    const store = new S3Store({
      url: 's3://lifeline-faults/x',
      settings: { endpoint: server.endpoint, maxAttempts: 1 },
      credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'whatever' },
      env: {},
    });
    try {
      for (const attempt of [() => store.list(''), () => store.put('lifeline.json', '{}'), () => store.get('lifeline.json')]) {
        const error = await lifelineError(attempt());
        expect(error.code).toBe('REPO_AUTH');
        expect(error.message).toContain('InvalidAccessKeyId');
        expect(error.hint).toMatch(/AWS_ACCESS_KEY_ID/);
        oneLine(error.message);
      }
    } finally {
      store.destroy();
    }
  });

  it('a missing bucket', async () => {
    const store = server.store('no-such-bucket', 'x');
    for (const attempt of [() => store.list(''), () => store.put('lifeline.json', '{}'), () => store.get('lifeline.json')]) {
      const error = await lifelineError(attempt());
      expect(error.code).toBe('REPO_AUTH');
      expect(error.message).toBe(`The S3 bucket no-such-bucket does not exist at ${server.endpoint}`);
      expect(error.hint).toMatch(/Create it first/);
    }
  });

  it('a wrong region (s3rver ignores regions: a tiny server answers as AWS does, 301 + x-amz-bucket-region)', async () => {
    const aws = http.createServer((req, res) => {
      req.resume();
      res.writeHead(301, { 'content-type': 'application/xml', 'x-amz-bucket-region': 'eu-central-1' });
      res.end(
        req.method === 'HEAD'
          ? undefined
          : '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.</Message><Endpoint>lifeline-faults.s3.eu-central-1.amazonaws.com</Endpoint><Bucket>lifeline-faults</Bucket></Error>',
      );
    });
    await new Promise<void>((resolve) => aws.listen(0, '127.0.0.1', resolve));
    const { port } = aws.address() as AddressInfo;
    const store = new S3Store({
      url: 's3://lifeline-faults/x',
      settings: { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', maxAttempts: 1 },
      credentials: S3RVER_CREDENTIALS,
      env: {},
    });
    try {
      for (const attempt of [() => store.list(''), () => store.head('lifeline.json'), () => store.get('lifeline.json')]) {
        const error = await lifelineError(attempt());
        expect(error.code).toBe('REPO_AUTH');
        expect(error.message).toBe('The S3 bucket lifeline-faults is in region eu-central-1, not us-east-1');
        expect(error.hint).toContain('AWS_REGION=eu-central-1');
      }
    } finally {
      store.destroy();
      aws.close();
    }
  });
});
