import fs from 'node:fs';
import path from 'node:path';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { LifelineError } from '../../errors.js';
import { codecArgs, spawnCodec } from '../compress/process-codec.js';
import { COMPRESSION_LEVELS } from '../compress/spec.js';
import type { WalCompression } from './object-format.js';

/**
 * Compression for the WAL path, which PostgreSQL runs once per file: node:child_process and
 * node:zlib only (execa alone costs ~130 ms to load). zstd and lz4 are their binaries, as in
 * codec.ts. gzip level 0 (stored blocks, no compression work) is what `--compress none` means
 * for WAL: each file keeps its checksum trailer inside a standard `gzip -dc` container.
 */
export interface LightCodec {
  stream: Duplex;
  /** Resolves when the codec finished cleanly; rejects with a LifelineError otherwise. */
  done: Promise<void>;
}

export function walCodec(compression: WalCompression, direction: 'compress' | 'decompress', level?: number): LightCodec {
  if (compression === 'gzip') {
    const stream = direction === 'compress' ? zlib.createGzip({ level: Math.min(level ?? COMPRESSION_LEVELS.gzip!.default, 9) }) : zlib.createGunzip();
    const done = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', (error) => reject(new LifelineError('REPO_CORRUPT', `gzip: ${error.message}`)));
    });
    done.catch(() => undefined);
    return { stream, done };
  }
  const args = codecArgs(compression, direction, { level: level ?? COMPRESSION_LEVELS[compression]!.default });
  const child = spawnCodec(compression, args, {
    failureCode: direction === 'decompress' ? 'REPO_CORRUPT' : 'TOOL_FAILED',
    missingHint: `Install it (apt-get install ${compression}), or archive with --compress gzip.`,
  });
  const done = child.done.then(() => undefined);
  done.catch(() => undefined);
  return { stream: Duplex.from({ writable: child.input!, readable: child.output }), done };
}

/** Whether a binary (zstd by default) is on PATH (gzip is the fallback for pushes); no process is started. */
export function zstdOnPath(env: NodeJS.ProcessEnv = process.env, tool = 'zstd'): boolean {
  for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(path.delimiter)) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, tool), fs.constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}
