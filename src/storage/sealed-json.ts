import { createHash } from 'node:crypto';

/*
 * The repository's JSON documents (lifeline.json, manifests, verification records) carry a
 * checksum of their own content, so that a flipped bit anywhere, even inside a free-text field
 * that still parses, is reported as corruption instead of being believed. The checksum is the
 * sha256 of the canonical JSON (keys sorted, no whitespace) of the document without the field
 * itself. Documents written before the field existed have none and are read as they are.
 * Light on purpose (node:crypto only): wal-push writes lifeline.json through it.
 */

export const CHECKSUM_FIELD = 'checksum';

/** Pretty JSON of `value` with its checksum as the last field, ending with a newline. */
export function sealJson(value: Record<string, unknown>): string {
  const { [CHECKSUM_FIELD]: _old, ...rest } = value;
  // Through JSON once, so the checksum covers exactly what is written (dates as strings, no undefined).
  const content = JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
  return `${JSON.stringify({ ...content, [CHECKSUM_FIELD]: checksumOf(content) }, null, 2)}\n`;
}

/** Parses a document and checks its checksum (when it has one); `problem` says what is wrong. */
export function unsealJson(text: string): { value?: unknown; problem?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON: ${(error as Error).message}` };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || !(CHECKSUM_FIELD in parsed)) return { value: parsed };
  const { [CHECKSUM_FIELD]: recorded, ...content } = parsed as Record<string, unknown>;
  const actual = checksumOf(content);
  if (recorded !== actual) return { problem: `checksum mismatch: the content hashes to ${actual}, the file says ${String(recorded)}` };
  return { value: content };
}

function checksumOf(content: Record<string, unknown>): string {
  return `sha256:${createHash('sha256').update(canonical(content)).digest('hex')}`;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
