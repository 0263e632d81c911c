import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable, Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { LifelineError } from '../../errors.js';
import type { WalCompression } from './object-format.js';

/**
 * Compression for the WAL path, which PostgreSQL runs once per file: node:child_process and
 * node:zlib only (execa alone costs ~130 ms to load). zstd is the zstd binary, as in codec.ts.
 */
export interface LightCodec {
  stream: Duplex;
  /** Resolves when the codec finished cleanly; rejects with a LifelineError otherwise. */
  done: Promise<void>;
}

export function walCodec(compression: WalCompression, direction: 'compress' | 'decompress', level = 3): LightCodec {
  if (compression === 'gzip') {
    const stream = direction === 'compress' ? zlib.createGzip({ level: Math.min(level, 9) }) : zlib.createGunzip();
    const done = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', (error) => reject(new LifelineError('REPO_CORRUPT', `gzip: ${error.message}`)));
    });
    done.catch(() => undefined);
    return { stream, done };
  }
  const args = direction === 'compress' ? ['-q', '-c', `-${level}`] : ['-d', '-q', '-c'];
  const child = spawn('zstd', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new LifelineError('TOOL_MISSING', 'zstd is not installed.', { hint: 'Install it (apt-get install zstd), or archive with --compress gzip.' })
          : new LifelineError('TOOL_FAILED', `zstd could not run: ${error.message}`),
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else {
        const detail = Buffer.concat(stderr).toString().trim().split('\n').pop() || `exit ${code ?? signal}`;
        reject(new LifelineError(direction === 'decompress' ? 'REPO_CORRUPT' : 'TOOL_FAILED', `zstd failed: ${detail}`));
      }
    });
  });
  done.catch(() => undefined);
  // EPIPE on stdin when zstd dies early is reported through `done`.
  child.stdin.on('error', () => undefined);
  const stream = Duplex.from({ writable: child.stdin as Writable, readable: child.stdout as Readable });
  return { stream, done };
}

/** Whether a zstd binary is on PATH (gzip is the fallback for pushes); no process is started. */
export function zstdOnPath(env: NodeJS.ProcessEnv = process.env): boolean {
  for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(path.delimiter)) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, 'zstd'), fs.constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}
