import { EXIT, isLifelineError, type ExitCode } from '../errors.js';
import { redactText } from '../redact.js';

/** How a command prints: JSON on stdout for machines, lines for people; never a password (src/redact.ts). */
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
      if (!json) stdout.write(`${redactText(text)}\n`);
    },
    note(text) {
      stderr.write(`${redactText(text)}\n`);
    },
    result(value) {
      if (json) stdout.write(`${JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? redactText(item) : item), 2)}\n`);
    },
  };
}

/** The CLI edge: expected failures become one line + hint and an exit code, never a stack trace. */
export function reportError(error: unknown, out: Output): ExitCode {
  if (isLifelineError(error)) {
    out.note(`error: ${oneLine(error.message)}`);
    if (error.hint) out.note(`hint: ${oneLine(error.hint)}`);
    if (out.json) out.result({ error: { code: error.code, message: error.message, hint: error.hint } });
    return error.exitCode;
  }
  out.note(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  out.note('hint: this is a bug in lifeline; please report it with the lines above.');
  return EXIT.failure;
}

/** Messages may quote input or a tool's output; the error stays one line whatever they hold. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
