import { execa } from 'execa';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/lifeline.js', import.meta.url));

/** Runs the built CLI hermetically (LIFELINE_HOME), stdout piped: no TTY, as in cron or CI. */
export function lifeline(home: string, args: string[], options: { cwd?: string } = {}) {
  return execa(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? home,
    reject: false,
    stdin: 'ignore',
    env: { LIFELINE_HOME: home, LIFELINE_OPERATOR: 'ci-bot', PATH: process.env.PATH, NO_COLOR: '1' },
    extendEnv: false,
  });
}

export const auditPath = (home: string, runId: string) => path.join(home, 'state', 'audit', `${runId}.jsonl`);
