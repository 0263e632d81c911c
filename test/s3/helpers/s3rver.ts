import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Store, type S3StoreOptions } from '../../../src/storage/s3-store.js';
import type { S3Settings } from '../../../src/storage/s3/settings.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 's3rver-child.mjs');

/** s3rver checks the access key id (S3RVER) but accepts any secret. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** Environment for a lifeline child process talking to this server. */
export interface S3TestServer {
  port: number;
  endpoint: string;
  /** s3rver's own data folder. */
  dir: string;
  buckets: string[];
  env: Record<string, string>;
  /** An S3Store on this server (settings.endpoint set, quick timeouts and retries for tests). */
  store(bucket: string, prefix?: string, settings?: S3Settings, options?: Partial<S3StoreOptions>): S3Store;
  /** SIGKILL: the server dies with connections open, as a crashed server does. */
  kill(): Promise<void>;
  /** Starts again on the same port and folder (after kill). */
  restart(): Promise<void>;
  /** Stops and removes the data folder. */
  cleanup(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function launch(port: number, dir: string, buckets: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [CHILD, String(port), dir, ...buckets], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (data) => (stderr += String(data)));
  const actual = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (data) => {
      out += String(data);
      const match = /READY (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited (${code}) before it was ready: ${stderr}`)));
    child.once('error', reject);
  });
  return { child, port: actual };
}

/** A real S3-compatible HTTP server (s3rver 3.7.1) on 127.0.0.1, in its own process. */
export async function startS3rver(options: { buckets?: string[] } = {}): Promise<S3TestServer> {
  const buckets = options.buckets ?? ['lifeline-test'];
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeline-s3rver-'));
  let { child, port } = await launch(0, dir, buckets);
  const endpoint = `http://127.0.0.1:${port}`;
  const stores: S3Store[] = [];
  const exited = (c: ChildProcess) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => c.once('exit', () => resolve())));
  const server: S3TestServer = {
    port,
    endpoint,
    dir,
    buckets,
    env: {
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    store(bucket, prefix = '', settings = {}, storeOptions = {}) {
      const store = new S3Store({
        url: `s3://${bucket}${prefix ? `/${prefix}` : ''}`,
        settings: { endpoint, maxAttempts: 3, ...settings },
        credentials: S3RVER_CREDENTIALS,
        env: {},
        connectionTimeoutMs: 1000,
        requestTimeoutMs: 10_000,
        ...storeOptions,
      });
      stores.push(store);
      return store;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async restart() {
      // The port was ours a moment ago; another process could take it meanwhile, so retry a little.
      for (let attempt = 0; ; attempt++) {
        try {
          ({ child } = await launch(port, dir, buckets));
          return;
        } catch (error) {
          if (attempt >= 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    },
    async cleanup() {
      for (const store of stores) store.destroy();
      child.kill('SIGKILL');
      await exited(child);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}
