/**
 * Secrets never reach a terminal, a log line, the audit trail or a file lifeline writes. Every
 * such sink passes its text through here. What counts as a secret in text:
 * - the password of a URL with credentials, whatever the scheme (postgresql://user:pw@host,
 *   s3://key:secret@bucket, https://user:pw@endpoint), up to the last "@" of the word;
 * - the value of a `password=` parameter (URL query, libpq keyword/value string, sslpassword=,
 *   PGPASSWORD=), quoted or not.
 */

const MASK = '***';

/**
 * scheme://user:password@  — the password runs to the last "@" of the whitespace-free word. The
 * scheme's length is bounded so that a long line costs linear time, not quadratic.
 */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]{0,30}:\/\/[^\s:/?#@]*:)[^\s]*@/gi;
/** password=value, password = 'quoted \' value' (libpq keyword/value), ?password=..&. */
const PASSWORD_PARAM = /(password\s*=\s*)('(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|[^\s&'"]*)/gi;

/** Masks every password-looking part of a free text (messages, log lines, command lines). */
export function redactText(text: string): string {
  const masked = text.includes('://') ? text.replace(URL_CREDENTIALS, `$1${MASK}@`) : text;
  return /password/i.test(masked) ? masked.replace(PASSWORD_PARAM, `$1${MASK}`) : masked;
}

/**
 * Masks the password of one connection string given whole (it may contain spaces or characters
 * a URL should have escaped): everything between "user:" and the last "@" goes.
 */
export function redactConnectionString(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  let text = url;
  if (scheme) {
    const at = url.lastIndexOf('@');
    const colon = url.indexOf(':', scheme[0].length);
    if (at > scheme[0].length && colon !== -1 && colon < at) text = `${url.slice(0, colon + 1)}${MASK}${url.slice(at)}`;
  }
  return redactText(text);
}

/** Keys whose values are secrets whatever they hold. */
export const SECRET_KEY = /(password|passwd|secret|token|passphrase|api_?key|encryption_?key|credentials?)$/i;

/**
 * Every string inside a value, redacted (objects and arrays are copied). With `maskKeys`, values
 * of secret-named fields (password, token, ...) are replaced whole.
 */
export function redactValue<T>(value: T, options: { maskKeys?: boolean } = {}): T {
  const walk = (item: unknown, key?: string): unknown => {
    if (options.maskKeys && key !== undefined && SECRET_KEY.test(key) && item !== undefined && item !== null && item !== '') return MASK;
    if (typeof item === 'string') return redactText(item);
    if (Array.isArray(item)) return item.map((entry) => walk(entry));
    if (item instanceof Date) return item;
    if (item && typeof item === 'object') return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, walk(v, k)]));
    return item;
  };
  return walk(value) as T;
}
