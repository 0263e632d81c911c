import { spawn } from 'node:child_process';
import { Readable, type Writable } from 'node:stream';
import { LifelineError, type ErrorCode } from '../../errors.js';

/**
 * The stock zstd and lz4 binaries as codecs (multi-threaded zstd is far faster than anything
 * in-process, and their output is exactly what `zstd -dc` / `lz4 -dc` read). node:child_process
 * only, no execa: wal-push loads this once per WAL file.
 */
export type CodecTool = 'zstd' | 'lz4';

export interface CodecStats {
  /** Bytes that went into the compressor, when it told us (zstd -vv, lz4 -v) or we counted. */
  plainBytes?: number;
}

export interface CodecProcess {
  /** The codec's stdin; null when it reads from a file descriptor given at start. */
  input: Writable | null;
  output: Readable;
  /** Resolves once the process exited 0; rejects with a LifelineError otherwise. */
  done: Promise<CodecStats>;
  kill(): void;
}

export function codecArgs(tool: CodecTool, direction: 'compress' | 'decompress', options: { level?: number; threads?: boolean; stats?: boolean } = {}): string[] {
  if (direction === 'decompress') return ['-d', '-q', '-c'];
  const level = options.level === undefined ? [] : [`-${options.level}`];
  // -vv (zstd) / -v (lz4) end with the exact byte counts in and out (padded: "(  800 B =>  32993 B"), read for the ratio.
  const verbosity = options.stats ? [tool === 'zstd' ? '-vv' : '-v'] : ['-q'];
  return [...(tool === 'zstd' && options.threads ? ['-T0'] : []), ...level, ...verbosity, '-c'];
}

export function spawnCodec(
  tool: CodecTool,
  args: string[],
  options: { signal?: AbortSignal; stdin?: number; stdout?: number | Writable; failureCode?: ErrorCode; missingHint?: string } = {},
): CodecProcess {
  const child = spawn(tool, args, { stdio: [options.stdin ?? 'pipe', options.stdout ?? 'pipe', 'pipe'], signal: options.signal, killSignal: 'SIGTERM' });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('latin1')).slice(-4000)));
  const done = new Promise<CodecStats>((resolve, reject) => {
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        reject(new LifelineError('TOOL_MISSING', `${tool} is not installed.`, { hint: options.missingHint ?? `Install it (apt-get install ${tool}) or choose another compression (--compress gzip).` }));
      } else if (error.name === 'AbortError') {
        reject(error);
      } else {
        reject(new LifelineError('TOOL_FAILED', `${tool} could not run: ${error.message}`));
      }
    });
    child.on('close', (code, signal) => {
      if (code === 0) {
        resolve(plainBytesFrom(tool, stderr));
        return;
      }
      const detail = stderr.replace(/\r/g, '\n').trim().split('\n').pop()?.trim() || (signal ? `killed by ${signal}` : `exit ${code}`);
      reject(new LifelineError(options.failureCode ?? 'TOOL_FAILED', `${tool} failed: ${detail}`));
    });
  });
  done.catch(() => undefined);
  // EPIPE on stdin when the codec dies early is reported through `done`.
  child.stdin?.on('error', () => undefined);
  // With `stdout` (a file descriptor, or another process's stdin) the codec writes there itself and `output` stays empty.
  return { input: child.stdin, output: child.stdout ?? Readable.from([]), done, kill: () => void child.kill('SIGTERM') };
}

function plainBytesFrom(tool: CodecTool, stderr: string): CodecStats {
  const match = tool === 'zstd' ? /\(\s*(\d+) B =>\s*\d+ B/.exec(stderr) : /Compressed (\d+) bytes into/.exec(stderr);
  return match ? { plainBytes: Number(match[1]) } : {};
}
