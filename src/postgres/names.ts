import { LifelineError } from '../errors.js';

/**
 * Database and role names as lifeline accepts them from people (--db, --into, config targets,
 * runbook params). PostgreSQL itself allows almost anything in a quoted identifier, and lifeline
 * quotes every identifier it puts into SQL; these rules refuse what is far likelier a typo, an
 * injection attempt or a path than a real name: NUL and control characters, quotes, ";", "\",
 * "/", "=" (libpq would read such a dbname as a connection string), and names PostgreSQL would
 * silently truncate (over 63 bytes).
 */
export const MAX_NAME_BYTES = 63;

const FORBIDDEN = /[\u0000-\u001f\u007f'";\\/=]/;

/** Why `name` is not acceptable, or undefined when it is. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `it is longer than ${MAX_NAME_BYTES} bytes (PostgreSQL would cut it short)`;
  const bad = FORBIDDEN.exec(name);
  if (bad) return `it contains ${describeChar(bad[0])}`;
  if (name !== name.trim()) return 'it starts or ends with white space';
  return undefined;
}

/** Throws USAGE when `name` is not a database or role name lifeline accepts. */
export function validateName(name: string, what: string): string {
  const problem = nameProblem(name);
  if (problem) {
    throw new LifelineError('USAGE', `${what} ${JSON.stringify(truncate(name))} is refused: ${problem}.`, {
      hint: `Use a plain name (letters, digits, "_", "-", ".", at most ${MAX_NAME_BYTES} bytes).`,
    });
  }
  return name;
}

function describeChar(ch: string): string {
  const code = ch.charCodeAt(0);
  if (code < 0x20 || code === 0x7f) return `a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')})`;
  return `"${ch}"`;
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
