import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/** A real small file system (a real ENOSPC): needs root (mount); false where it is refused. */
export async function mountTmpfs(dir: string, size: string): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  const result = await execa('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { reject: false });
  return result.exitCode === 0;
}

export async function unmount(dir: string): Promise<void> {
  await execa('umount', [dir], { reject: false });
}

/**
 * A real small tmpfs for the enclosing describe block: made in beforeAll, unmounted and removed in
 * afterAll. `mounted()` is false where mounting is refused (not root): skip the test then.
 */
export function smallTmpfs(prefix: string, size: string): { dir: string; mounted: () => boolean } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  let mounted = false;
  beforeAll(async () => {
    mounted = await mountTmpfs(dir, size);
  });
  afterAll(async () => {
    if (mounted) await unmount(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, mounted: () => mounted };
}
