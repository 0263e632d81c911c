import { redactUrl } from '../postgres/conninfo.js';

const SECRET_KEY = /(password|passwd|secret|token|passphrase|api_?key|encryption_?key|credentials?)$/i;

/** Nothing that looks like a secret reaches the audit trail: URL passwords and secret-named fields. */
export function redactSecrets(value: unknown): unknown {
  if (typeof value === 'string') return redactUrl(value);
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, SECRET_KEY.test(key) && item !== undefined && item !== null && item !== '' ? '***' : redactSecrets(item)]),
    );
  }
  return value;
}
