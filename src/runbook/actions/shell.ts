import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { LifelineError, abortError } from '../../errors.js';
import { redactUrl } from '../../postgres/conninfo.js';
import { defineAction, type OutputStream } from '../registry.js';

/**
 * Runs a program with an argument array (never through a shell, so no quoting of input can
 * change what runs), streaming its lines as output-line events. Abort: SIGTERM, then SIGKILL.
 */
export const shellAction = defineAction({
  name: 'shell',
  summary: 'run a program with an argument array (no shell), streaming its output',
  paramsSchema: z
    .object({
      command: z.array(z.coerce.string()).min(1).describe('program and arguments, e.g. ["systemctl", "stop", "app"]'),
      cwd: z.string().optional(),
      env: z.record(z.string(), z.coerce.string()).optional().describe('extra environment variables (values are not recorded)'),
      timeout_seconds: z.number().positive().optional(),
      allow_failure: z.boolean().default(false).describe('a non-zero exit is an output, not a failure'),
    })
    .strict(),
  outputs: ['exitCode', 'lastLine'],
  describe: (args) => `run ${args.command.map((part) => (/[\s"'$]/.test(part) ? JSON.stringify(part) : part)).join(' ')}${args.cwd ? ` in ${args.cwd}` : ''}`,
  async run({ with: args, signal, onOutput, services }) {
    const { execa } = await import('execa');
    const [file, ...rest] = args.command;
    const child = execa(file, rest, {
      cwd: args.cwd,
      env: { ...services.env, ...args.env },
      extendEnv: false,
      stdin: 'ignore',
      buffer: false,
      reject: false,
      cancelSignal: signal,
      forceKillAfterDelay: 5000,
      timeout: args.timeout_seconds ? args.timeout_seconds * 1000 : undefined,
    });
    let lastLine = '';
    const follow = (stream: Readable | null, name: OutputStream) =>
      stream
        ? new Promise<void>((resolve) => {
            const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
            lines.on('line', (line) => {
              lastLine = line;
              onOutput(redactUrl(line), name);
            });
            lines.on('close', resolve);
          })
        : Promise.resolve();
    const [result] = await Promise.all([child, follow(child.stdout, 'stdout'), follow(child.stderr, 'stderr')]);
    if (result.isCanceled || signal.aborted) throw abortError(signal);
    if (result.failed && result.exitCode === undefined) {
      throw new LifelineError('TOOL_FAILED', `Could not run ${file}: ${result.timedOut ? `timed out after ${args.timeout_seconds} s` : result.shortMessage}`, {
        hint: result.timedOut ? 'Raise timeout_seconds or find out why it hangs.' : 'Check that the program exists and is on PATH.',
      });
    }
    if (result.exitCode !== 0 && !args.allow_failure) {
      throw new LifelineError('TOOL_FAILED', `${file} exited with code ${result.exitCode}${lastLine ? `: ${redactUrl(lastLine)}` : ''}`, {
        hint: 'Its output is in the run log above and in the audit trail.',
      });
    }
    return { exitCode: result.exitCode ?? null, lastLine: redactUrl(lastLine) };
  },
});
