import { execa } from 'execa';
import { Writable } from 'node:stream';

export interface TarExtract {
  /** Write the plain tar stream here. It never fails: once tar has left, the rest is read and dropped. */
  sink: Writable;
  /** tar's outcome, once its input has ended (or it was stopped). */
  result: Promise<{ ok: boolean; detail: string }>;
  stop(): void;
}

/**
 * `tar -x` into `dir`, fed from a stream. tar may stop reading early: it rejects a damaged
 * archive, or meets a full disk. Piping into its stdin would then fail the whole pipeline with
 * EPIPE before the caller's hash of the stored bytes is complete, hiding which of the two it was;
 * this sink keeps draining so the caller can tell a damaged object from a failed extraction.
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
  const stdin = tar.stdin!;
  let gone = false;
  stdin.on('error', () => {
    gone = true;
  });
  const sink = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _encoding, callback) {
      if (gone) return callback();
      stdin.write(chunk, (error) => {
        if (error) gone = true;
        callback();
      });
    },
    final(callback) {
      if (gone) return callback();
      // end()'s callback runs on finish and on error alike.
      stdin.end(() => callback());
    },
  });
  const result = tar.then((r) => {
    const said = String(r.stderr).split('\n').filter((line) => line.trim() && !/Exiting with failure status/.test(line));
    return { ok: r.exitCode === 0, detail: said.pop() ?? (r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`) };
  });
  return { sink, result, stop: () => void tar.kill() };
}
