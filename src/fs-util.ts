import fs from 'node:fs';
import path from 'node:path';

/** Folders lifeline creates are private (0700) whatever the umask. */
export function ensureDir(dir: string, mode = 0o700): void {
  const first = fs.mkdirSync(dir, { recursive: true, mode });
  if (first) {
    // mkdir applies the umask; walk the created part and set the mode exactly.
    let current = dir;
    while (current.length >= first.length) {
      fs.chmodSync(current, mode);
      const parent = current.slice(0, current.lastIndexOf('/'));
      if (!parent || parent === current) break;
      current = parent;
    }
  }
}

/** Writes a small file atomically (temp + fsync + rename) with mode 0600. */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): void {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

/** Free bytes (for an unprivileged user) on the filesystem that holds `dir`, or the nearest existing parent. */
export function freeBytes(dir: string): number {
  let probe = path.resolve(dir);
  while (!fs.existsSync(probe) && path.dirname(probe) !== probe) probe = path.dirname(probe);
  const stats = fs.statfsSync(probe);
  return stats.bavail * stats.bsize;
}
