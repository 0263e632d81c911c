import { EXIT, isLifelineError, type ExitCode } from '../errors.js';
import { redactUrl } from '../postgres/conninfo.js';

/** How a command prints: JSON on stdout for machines, lines for people. */
export interface Output {
  json: boolean;
  /** A line for people (stdout). Suppressed in --json mode. */
  line(text?: string): void;
  /** A note for people on stderr (progress, warnings); also in --json mode. */
  note(text: string): void;
  /** The machine result (stdout) in --json mode. */
  result(value: unknown): void;
}

export function createOutput(json: boolean, stdout = process.stdout, stderr = process.stderr): Output {
  return {
    json,
    line(text = '') {
      if (!json) stdout.write(`${text}\n`);
    },
    note(text) {
      stderr.write(`${redactUrl(text)}\n`);
    },
    result(value) {
      if (json) stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
  };
}

/** The CLI edge: expected failures become one line + hint and an exit code, never a stack trace. */
export function reportError(error: unknown, out: Output): ExitCode {
  if (isLifelineError(error)) {
    out.note(`error: ${error.message}`);
    if (error.hint) out.note(`hint: ${error.hint}`);
    if (out.json) out.result({ error: { code: error.code, message: redactUrl(error.message), hint: error.hint } });
    return error.exitCode;
  }
  out.note(`internal error: ${redactUrl(error instanceof Error ? (error.stack ?? error.message) : String(error))}`);
  out.note('hint: this is a bug in lifeline; please report it with the lines above.');
  return EXIT.failure;
}
