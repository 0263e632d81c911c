import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dbnameArg, describeConn, parseConnectionUrl, toolEnv } from '../../src/postgres/conninfo.js';
import { redactConnectionString, redactText, redactValue } from '../../src/redact.js';
import { LifelineError } from '../../src/errors.js';

/* Connection strings: parsed exactly, and the password survives no redaction, whatever it holds. */

const RUNS = { numRuns: 200 };
/** Any well-formed text, behind a marker so that "does not contain" cannot be fooled by a short password. */
const password = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 40 })
  .filter((text) => text.isWellFormed())
  .map((text) => `Zq9${text}`);
const special = fc.constantFrom('Zq9:@/?#&=%', "Zq9'\"\\ ;", 'Zq9 with spaces', 'Zq9%41%zz', 'Zq9@host@x', 'Zq9?password=x&a=b', 'Zq9\u00e9\u4e2d\u{1F600}');
const pw = fc.oneof(password, special);
const user = fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/);
const host = fc.constantFrom('db.example.com', '127.0.0.1', 'h', '[::1]', 'pg-1.internal');
const database = fc.stringMatching(/^[a-z][a-z0-9_-]{0,20}$/);
const port = fc.integer({ min: 1, max: 65535 });

function leaks(text: string, secret: string): boolean {
  return text.includes(secret) || text.includes(encodeURIComponent(secret));
}

describe('connection URLs', () => {
  it('a percent-escaped password is read back exactly, travels only in PGPASSWORD, and is masked everywhere it could be shown', () => {
    fc.assert(
      fc.property(user, pw, host, port, database, (u, secret, h, p, db) => {
        const url = `postgresql://${u}:${encodeURIComponent(secret)}@${h}:${p}/${db}?sslmode=prefer`;
        const info = parseConnectionUrl(url);
        expect(info).toMatchObject({ user: u, password: secret, port: p, database: db, params: { sslmode: 'prefer' } });
        expect(toolEnv(info, {}).PGPASSWORD).toBe(secret);
        expect(leaks(describeConn(info), secret)).toBe(false);
        expect(leaks(redactText(url), secret)).toBe(false);
        expect(leaks(redactText(`backing up ${url} into /repo (try ${url})`), secret)).toBe(false);
        expect(leaks(redactConnectionString(url), secret)).toBe(false);
        expect(leaks(JSON.stringify(redactValue({ a: [url], b: { c: url } })), secret)).toBe(false);
        expect(leaks(dbnameArg(db), secret)).toBe(false);
      }),
      RUNS,
    );
  });

  it('a password given as ?password= is read back and masked too', () => {
    fc.assert(
      fc.property(user, pw, host, database, (u, secret, h, db) => {
        const url = `postgresql://${u}@${h}/${db}?application_name=x&password=${encodeURIComponent(secret)}`;
        expect(parseConnectionUrl(url).password).toBe(secret);
        expect(leaks(describeConn(parseConnectionUrl(url)), secret)).toBe(false);
        expect(leaks(redactText(url), secret)).toBe(false);
      }),
      RUNS,
    );
  });

  it('an unescaped password (as people paste it) never shows in the error or the description', () => {
    fc.assert(
      fc.property(user, pw, host, port, database, (u, secret, h, p, db) => {
        const url = `postgresql://${u}:${secret}@${h}:${p}/${db}`;
        expect(leaks(redactConnectionString(url), secret)).toBe(false);
        try {
          expect(describeConn(parseConnectionUrl(url)).includes(secret)).toBe(false);
        } catch (error) {
          expect(error).toBeInstanceOf(LifelineError);
          expect((error as LifelineError).code).toBe('USAGE');
          expect((error as LifelineError).message.includes(secret)).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it('libpq keyword/value strings and other schemes are masked in free text', () => {
    const safe = fc.stringMatching(/^Zq9[A-Za-z0-9!#$%*+,.:;<>@^_`|~/?-]{1,20}$/);
    fc.assert(
      fc.property(safe, (secret) => {
        for (const text of [
          `host=h user=u password=${secret} dbname=d`,
          `host=h password='${secret.replace(/['\\]/g, '\\$&')} x' dbname=d`,
          `PGPASSWORD=${secret} pg_dump`,
          `s3://AKIA:${secret}@bucket/prefix`,
          `https://user:${secret}@minio:9000/`,
        ]) {
          expect(redactText(text).includes(secret)).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it('never throws anything but a USAGE error for any text', () => {
    const near = fc.tuple(fc.constantFrom('postgresql://', 'postgres://', 'POSTGRES://', 'pg://', ''), fc.string({ unit: 'binary', maxLength: 60 })).map(([a, b]) => a + b);
    fc.assert(
      fc.property(fc.oneof(near, fc.string({ unit: 'binary' })), (text) => {
        try {
          parseConnectionUrl(text);
        } catch (error) {
          expect(error).toBeInstanceOf(LifelineError);
          expect((error as LifelineError).code).toBe('USAGE');
        }
      }),
      RUNS,
    );
  });

  it('database and user names that look like SQL or paths are refused', () => {
    for (const name of ["x'; DROP TABLE x;--", '../x', 'a/b', 'x\u0000y', 'a"b', 'a\\b', 'dbname=evil host=attacker', 'x'.repeat(64)]) {
      expect(() => parseConnectionUrl(`postgresql://u@h/${encodeURIComponent(name)}`)).toThrow(LifelineError);
      expect(() => parseConnectionUrl(`postgresql://${encodeURIComponent(name)}@h/db`)).toThrow(LifelineError);
    }
    expect(parseConnectionUrl('postgresql://app@h/shop-2.eu').database).toBe('shop-2.eu');
  });
});
