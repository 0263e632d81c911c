<<<<<<< HEAD
import { execa } from 'execa';

/** A real small file system (a real ENOSPC): needs root (mount); false where it is refused. */
export async function mountTmpfs(dir: string, size: string): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  const result = await execa('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { reject: false });
  return result.exitCode === 0;
}

export async function unmount(dir: string): Promise<void> {
  await execa('umount', [dir], { reject: false });
=======
import { execFileSync } from 'node:child_process';

/**
 * Mounts a tmpfs of `size` (e.g. "8m") on `dir`: a real ENOSPC for a repository or a scratch
 * folder (see FACTS.md). Needs root; returns why not when it cannot, so the test can skip.
 */
export function mountTmpfs(dir: string, size: string, mode = '0700'): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: mounting a tmpfs needs root';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=${mode}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `mount refused: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`;
  }
}

/** Unmounts what mountTmpfs mounted (lazily, so a process still inside cannot keep it busy). */
export function unmountTmpfs(dir: string): void {
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  } catch {
    // not mounted
  }
>>>>>>> 46409d2 (Full disk (#9): a restore staging its dump into a full scratch folder fails with DISK_FULL naming the folder and hinting --jobs 1 (it was an internal error); verify removes a disposable cluster initdb could not finish and never leaves one running when creating roles fails; shared tmpfs test helper)
}
