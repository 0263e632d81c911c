import { execa } from 'execa';
import type { Writable } from 'node:stream';
import { drainingSink } from '../draining-sink.js';

export interface TarExtract {
  /** Write the plain tar stream here. It never fails: once tar has left, the rest is read and dropped. */
  sink: Writable;
  /** tar's own stdin, to hand to a decompressor process as its stdout (then `sink` is not used). */
  input: Writable;
  /** tar's outcome, once its input has ended (or it was stopped). */
  result: Promise<{ ok: boolean; detail: string }>;
  stop(): void;
}

/**
 * `tar -x` into `dir`, fed from a stream. tar may stop reading early: it rejects a damaged
 * archive, or meets a full disk. The sink keeps draining then (draining-sink.ts), so the caller
 * can finish hashing the stored bytes and tell a damaged object from a failed extraction.
 */
export function startTarExtract(dir: string, signal?: AbortSignal): TarExtract {
  // --ignore-zeros: tar reads to the end of its input. Without it, tar exits at the end-of-archive
  // blocks, sometimes before we close its stdin.
  const tar = execa('tar', ['-x', '--ignore-zeros', '-f', '-', '-C', dir, '--no-same-owner'], {
    stdin: 'pipe',
    stdout: 'ignore',
    stderr: 'pipe',
    reject: false,
    cancelSignal: signal,
  });
  const result = tar.then((r) => {
    const said = String(r.stderr).split('\n').filter((line) => line.trim() && !/Exiting with failure status/.test(line));
    return { ok: r.exitCode === 0, detail: said.pop() ?? (r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`) };
  });
  return { sink: drainingSink(tar.stdin!), input: tar.stdin!, result, stop: () => void tar.kill() };
}
