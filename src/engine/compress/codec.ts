import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { PassThrough, type Duplex, type Readable, type Writable } from 'node:stream';
import zlib from 'node:zlib';
import { LifelineError } from '../../errors.js';
import type { Compression } from '../../config/schema.js';

/**
 * Compression as standard streams that stock tools read (`zstd -dc`, `gzip -dc`).
 * zstd runs as the zstd binary (multi-threaded, far faster than pg_dump's gzip); gzip uses zlib.
 */
export interface Codec {
  algorithm: Compression;
  level?: number;
  extension: '' | '.zst' | '.gz';
  /** A transform stream; `done` rejects when the codec itself failed. */
  create(signal?: AbortSignal): { stream: Duplex; done: Promise<void> };
  /**
   * For codecs that are processes: started before the producer, whose stdout is then given
   * `input` directly, as a shell pipe would, so the plain bytes never pass through Node.
   */
  startProcess?(signal?: AbortSignal): { input: Writable; output: Readable; done: Promise<void> };
}

export const DEFAULT_LEVEL: Record<Compression, number | undefined> = { zstd: 3, gzip: 1, none: undefined };

export function extensionFor(algorithm: Compression): Codec['extension'] {
  return algorithm === 'zstd' ? '.zst' : algorithm === 'gzip' ? '.gz' : '';
}

export function compressor(algorithm: Compression, level = DEFAULT_LEVEL[algorithm]): Codec {
  const extension = extensionFor(algorithm);
  if (algorithm === 'none') return { algorithm, extension, create: () => ({ stream: new PassThrough(), done: Promise.resolve() }) };
  if (algorithm === 'gzip') {
    return { algorithm, level, extension, create: () => zlibCodec(zlib.createGzip({ level })) };
  }
  const args = ['-T0', `-${level}`, '-q', '-c'];
  return {
    algorithm,
    level,
    extension,
    create: (signal) => zstdCodec(args, signal),
    startProcess(signal) {
      // node:child_process rather than execa here: the producer gets a copy of zstd's stdin and
      // ours is closed at once, which execa would report as a premature close.
      const child = spawn('zstd', args, { stdio: ['pipe', 'pipe', 'pipe'], signal, killSignal: 'SIGTERM' });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
      const done = new Promise<void>((resolve, reject) => {
        child.on('error', (error) =>
          reject(
            (error as NodeJS.ErrnoException).code === 'ENOENT'
              ? new LifelineError('TOOL_MISSING', 'zstd is not installed.', { hint: 'Install it (apt-get install zstd) or set backup.compression to gzip.' })
              : error,
          ),
        );
        child.on('close', (code, sig) =>
          code === 0 ? resolve() : reject(new LifelineError('TOOL_FAILED', `zstd failed (${sig ?? `exit ${code}`}): ${stderr.trim().split('\n').pop() ?? ''}`)),
        );
      });
      done.catch(() => undefined);
      child.stdin.on('error', () => undefined);
      return { input: child.stdin, output: child.stdout, done };
    },
  };
}

export function decompressor(algorithm: Compression): Codec {
  const extension = extensionFor(algorithm);
  if (algorithm === 'none') return { algorithm, extension, create: () => ({ stream: new PassThrough(), done: Promise.resolve() }) };
  if (algorithm === 'gzip') return { algorithm, extension, create: () => zlibCodec(zlib.createGunzip()) };
  return { algorithm, extension, create: (signal) => zstdCodec(['-d', '-q', '-c'], signal) };
}

function zlibCodec(stream: zlib.Gzip | zlib.Gunzip): { stream: Duplex; done: Promise<void> } {
  const done = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  done.catch(() => undefined);
  return { stream, done };
}

/** The zstd binary as a Duplex: write to its stdin, read its stdout. */
function zstdCodec(args: string[], signal?: AbortSignal): { stream: Duplex; done: Promise<void> } {
  const child = execa('zstd', args, {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: { stdout: false, stderr: true },
    cancelSignal: signal,
    reject: false,
  });
  return { stream: child.duplex({}), done: zstdResult(child) };
}

function zstdResult(child: ReturnType<typeof execa>): Promise<void> {
  const done = (async () => {
    const result = await child;
    if (result.failed) {
      if ((result as { code?: string }).code === 'ENOENT' || /ENOENT/.test(String(result.message))) {
        throw new LifelineError('TOOL_MISSING', 'zstd is not installed.', {
          hint: 'Install it (apt-get install zstd) or set backup.compression to gzip.',
        });
      }
      const detail = String(result.stderr ?? '').trim().split('\n').pop() || result.shortMessage;
      throw new LifelineError('TOOL_FAILED', `zstd failed: ${detail}`);
    }
  })();
  done.catch(() => undefined);
  return done;
}

/** Whether the zstd binary can be run here; gzip is the fallback. */
export async function zstdAvailable(): Promise<boolean> {
  const result = await execa('zstd', ['--version'], { reject: false });
  return !result.failed;
}

export type { Readable, Writable };
