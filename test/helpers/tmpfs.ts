import { execa } from 'execa';

/** A real small file system (a real ENOSPC): needs root (mount); false where it is refused. */
export async function mountTmpfs(dir: string, size: string): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  const result = await execa('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { reject: false });
  return result.exitCode === 0;
}

export async function unmount(dir: string): Promise<void> {
  await execa('umount', [dir], { reject: false });
}
