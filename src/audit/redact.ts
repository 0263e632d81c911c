import { redactValue } from '../redact.js';

/** Nothing that looks like a secret reaches the audit trail: URL passwords and secret-named fields. */
export function redactSecrets(value: unknown): unknown {
  return redactValue(value, { maskKeys: true });
}
