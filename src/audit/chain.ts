import { createHash } from 'node:crypto';

/**
 * The audit chain: every line carries the hash of the line before it (`prev`) and its own
 * `hash` = sha256 of its canonical JSON without `hash`. Editing, removing or reordering a line
 * breaks the chain at that line.
 */
export const GENESIS = '0'.repeat(64);

export interface AuditLine {
  seq: number;
  time: string;
  runId: string;
  operator: string;
  host: string;
  runbook: string;
  step: string | null;
  kind: string;
  data: unknown;
  prev: string;
  hash: string;
}

/** JSON with object keys sorted at every level: the same value always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

export function lineHash(line: Omit<AuditLine, 'hash'> | AuditLine): string {
  const { hash: _hash, ...rest } = line as AuditLine;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}
