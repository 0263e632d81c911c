import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LifelineError } from '../../src/errors.js';
import type { Manifest } from '../../src/storage/manifest.js';

export async function makeTempDir(prefix = 'lifeline-storage-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every file under dir, hidden ones included, relative paths. */
export async function allFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

export async function lifelineError(promise: Promise<unknown>): Promise<LifelineError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LifelineError) return error;
    throw error;
  }
  throw new Error('expected a LifelineError, but it resolved');
}

export function sampleManifest(id: string, overrides: Partial<Manifest> = {}): Manifest {
  return {
    formatVersion: 1,
    id,
    kind: 'logical',
    label: 'daily',
    operator: 'tester',
    host: 'testhost',
    startedAt: '2026-11-24T02:00:00.000Z',
    finishedAt: '2026-11-24T02:01:00.000Z',
    database: 'shop',
    serverVersion: '15.8',
    serverVersionNum: 150008,
    toolVersions: { pg_dump: '15.8' },
    compression: { algorithm: 'none' },
    objects: [{ name: 'data.dump', size: 4, sha256: sha256('data') }],
    ...overrides,
  };
}
