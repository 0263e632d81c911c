/**
 * The one decision "may the TUI start?": only with a terminal on both stdin and stdout, outside
 * CI, and without --plain/--json. Raw mode fails without a TTY on stdin, and under CI Ink draws
 * no frames, so anything else takes the plain line path. Cheap: imports nothing.
 */
export interface TuiDecisionInput {
  stdinIsTTY: boolean | undefined;
  stdoutIsTTY: boolean | undefined;
  env: NodeJS.ProcessEnv;
  plain?: boolean;
  json?: boolean;
}

export type TuiDecision = { tui: true } | { tui: false; reason: string };

export function isCI(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI;
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

export function decideTui({ stdinIsTTY, stdoutIsTTY, env, plain, json }: TuiDecisionInput): TuiDecision {
  if (plain) return { tui: false, reason: '--plain was given' };
  if (json) return { tui: false, reason: '--json was given' };
  if (isCI(env)) return { tui: false, reason: 'CI is set (unset it or set CI=0 for the TUI)' };
  if (!stdoutIsTTY) return { tui: false, reason: 'stdout is not a terminal' };
  if (!stdinIsTTY) return { tui: false, reason: 'stdin is not a terminal' };
  if (env.TERM === 'dumb') return { tui: false, reason: 'TERM=dumb' };
  return { tui: true };
}
