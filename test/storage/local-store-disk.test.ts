import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../../src/storage/local-store.js';
import { Repository } from '../../src/storage/repository.js';
import { allFiles, lifelineError, makeTempDir, readAll } from './helpers.js';

/** Mounts a tmpfs (root only); returns why not when it cannot. */
function mountTmpfs(dir: string, options: string): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: mounting a tmpfs needs root';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `mount refused: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`;
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    // not mounted
  }
}

function zeros(totalBytes: number, chunkBytes = 1 << 20): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= totalBytes) return void this.push(null);
      const size = Math.min(chunkBytes, totalBytes - sent);
      sent += size;
      this.push(Buffer.alloc(size));
    },
  });
}

describe('a full disk (tmpfs of 8 MB)', () => {
  let base: string;
  let mountPoint: string;
  let skipReason: string | undefined;

  beforeAll(async () => {
    base = await makeTempDir();
    mountPoint = path.join(base, 'small');
    await fs.mkdir(mountPoint);
    skipReason = mountTmpfs(mountPoint, 'size=8m,mode=0700');
  });

  afterAll(async () => {
    if (!skipReason) unmount(mountPoint);
    await fs.rm(base, { recursive: true, force: true });
  });

  it('a 20 MB put fails with REPO_FULL, leaves no temp file, and the repository still works', async (context) => {
    if (skipReason) return context.skip(skipReason);
    const store = new LocalStore({ root: path.join(mountPoint, 'repo') });
    const repo = new Repository(store);
    await repo.initialize();
    const id = await repo.reserveBackupId({ label: 'daily' });

    // Something else already occupies part of the volume.
    await repo.putBackupObject(id, 'filler', zeros(3 << 20));

    const error = await lifelineError(repo.putBackupObject(id, 'data.dump', zeros(20 << 20)));
    expect(error.code).toBe('REPO_FULL');
    expect(error.message).toContain(store.location);
    expect(error.hint).toMatch(/free space|--repo/i);

    const files = await allFiles(store.location);
    expect(files.filter((file) => path.basename(file).startsWith('.tmp-'))).toEqual([]);
    expect(files).not.toContain(`backups/${id}/data.dump`);

    // Still lists, and after freeing space it takes a write again.
    expect((await store.list('backups/')).map((o) => o.key)).toEqual([`backups/${id}/.reserved`, `backups/${id}/filler`]);
    await store.delete([`backups/${id}/filler`]);
    await repo.putBackupObject(id, 'small', 'still works');
    expect((await readAll(await repo.getBackupObject(id, 'small'))).toString()).toBe('still works');
    const usage = await store.usage();
    expect(usage.totalBytes).toBe(8 << 20);
  });
});

describe('a read-only file system', () => {
  let base: string;
  let mountPoint: string;
  let skipReason: string | undefined;

  beforeAll(async () => {
    base = await makeTempDir();
    mountPoint = path.join(base, 'ro');
    await fs.mkdir(mountPoint);
    skipReason = mountTmpfs(mountPoint, 'size=1m,ro');
  });

  afterAll(async () => {
    if (!skipReason) unmount(mountPoint);
    await fs.rm(base, { recursive: true, force: true });
  });

  it('writes fail with REPO_UNWRITABLE naming the path; reads see an empty repository', async (context) => {
    if (skipReason) return context.skip(skipReason);
    const store = new LocalStore({ root: mountPoint });
    const error = await lifelineError(store.put('backups/x/data.dump', 'x'));
    expect(error.code).toBe('REPO_UNWRITABLE');
    expect(error.message).toContain(mountPoint);
    expect(error.message).toContain('read-only');
    expect(await store.list('')).toEqual([]);
    expect((await new Repository(store).listBackups()).backups).toEqual([]);
  });
});
