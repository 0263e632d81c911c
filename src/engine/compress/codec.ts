import fs from 'node:fs';
import { Duplex, PassThrough, Transform, type Readable, type Writable } from 'node:stream';
import zlib from 'node:zlib';
import { codecArgs, spawnCodec, type CodecStats, type CodecTool } from './process-codec.js';
import { COMPRESSION_EXTENSIONS, levelFor, type Compression, type CompressionExtension } from './spec.js';

export type { CodecStats } from './process-codec.js';

/**
 * Compression as standard streams that stock tools read (`zstd -dc`, `lz4 -dc`, `gzip -dc`).
 * zstd and lz4 run as their binaries (zstd multi-threaded, far faster than pg_dump's gzip);
 * gzip uses zlib (on libuv's thread pool), none passes bytes through.
 */
export interface Codec {
  algorithm: Compression;
  level?: number;
  extension: CompressionExtension;
  /** A transform stream; `done` rejects when the codec itself failed. */
  create(signal?: AbortSignal): { stream: Duplex; done: Promise<CodecStats> };
  /**
   * For codecs that are processes: started before the producer, whose stdout is then given
   * `input` directly, as a shell pipe would, so the plain bytes never pass through Node. With
   * `stdin` (a file descriptor) the codec reads that file itself and `input` is null; with
   * `stdout` (a file descriptor, or another process's stdin) it writes there itself.
   */
  startProcess?(signal?: AbortSignal, options?: { stdin?: number; stdout?: number | Writable }): { input: Writable | null; output: Readable; done: Promise<CodecStats>; kill(): void };
}

export function extensionFor(algorithm: Compression): CompressionExtension {
  return COMPRESSION_EXTENSIONS[algorithm];
}

export function compressor(algorithm: Compression, level?: number): Codec {
  const extension = extensionFor(algorithm);
  if (algorithm === 'none') return { algorithm, extension, create: () => counting(new PassThrough()) };
  const chosen = levelFor(algorithm, level)!;
  if (algorithm === 'gzip') return { algorithm, level: chosen, extension, create: () => counting(zlib.createGzip({ level: chosen })) };
  const args = codecArgs(algorithm, 'compress', { level: chosen, threads: true, stats: true });
  return processCodec(algorithm, args, chosen, 'TOOL_FAILED');
}

export function decompressor(algorithm: Compression): Codec {
  const extension = extensionFor(algorithm);
  if (algorithm === 'none') return { algorithm, extension, create: () => counting(new PassThrough()) };
  if (algorithm === 'gzip') return { algorithm, extension, create: () => counting(zlib.createGunzip()) };
  return processCodec(algorithm, codecArgs(algorithm, 'decompress'), undefined, 'REPO_CORRUPT');
}

function processCodec(tool: CodecTool, args: string[], level: number | undefined, failureCode: 'TOOL_FAILED' | 'REPO_CORRUPT'): Codec {
  // node:child_process rather than execa: the producer gets a copy of the codec's stdin and
  // ours is closed at once, which execa would report as a premature close.
  const start = (signal?: AbortSignal, options: { stdin?: number; stdout?: number | Writable } = {}) => spawnCodec(tool, args, { signal, stdin: options.stdin, stdout: options.stdout, failureCode });
  return {
    algorithm: tool,
    ...(level === undefined ? {} : { level }),
    extension: extensionFor(tool),
    create(signal) {
      const child = start(signal);
      return { stream: Duplex.from({ writable: child.input!, readable: child.output }), done: child.done };
    },
    startProcess: start,
  };
}

/** An in-process stream that counts what goes in; `done` resolves once all of it came out. */
function counting(stream: Duplex): { stream: Duplex; done: Promise<CodecStats> } {
  let plainBytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      plainBytes += chunk.length;
      callback(null, chunk);
    },
  });
  const done = new Promise<CodecStats>((resolve, reject) => {
    stream.on('end', () => resolve({ plainBytes }));
    stream.on('error', reject);
    meter.on('error', reject);
  });
  done.catch(() => undefined);
  meter.pipe(stream);
  meter.on('error', (error) => stream.destroy(error));
  return { stream: Duplex.from({ writable: meter, readable: stream }), done };
}

/**
 * A stored file's bytes compressed: process codecs read the file themselves (its bytes never
 * pass through Node), the others stream it through zlib or as it is.
 */
export function compressFile(codec: Codec, file: string, signal?: AbortSignal): { output: Readable; done: Promise<CodecStats>; kill(): void } {
  if (codec.startProcess) {
    const fd = fs.openSync(file, 'r');
    try {
      return codec.startProcess(signal, { stdin: fd });
    } finally {
      // The child has its own copy of the descriptor.
      fs.closeSync(fd);
    }
  }
  const source = fs.createReadStream(file, { highWaterMark: 1 << 20, signal });
  const { stream, done } = codec.create(signal);
  source.on('error', (error) => stream.destroy(error));
  source.pipe(stream);
  return { output: stream, done, kill: () => source.destroy() };
}
