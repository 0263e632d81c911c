import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_NAME_BYTES, validateName } from '../../src/postgres/names.js';
import { secondsFlag, wholeNumberFlag } from '../../src/cli/flags.js';
import { durationSchema, parseDuration } from '../../src/runbook/schema.js';
import { LifelineError } from '../../src/errors.js';

/* Names, numbers and durations as people type them. */

const RUNS = { numRuns: 200 };
const hostile = fc.constantFrom('../x', '..', 'a/b', "x'; DROP TABLE x;--", 'a"b', 'x\u0000y', 'a\\b', 'dbname=x host=evil', ' pad', 'x'.repeat(64), '\u00e9'.repeat(32), 'tab\there');

function usage(run: () => unknown): LifelineError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(LifelineError);
    expect((error as LifelineError).code).toBe('USAGE');
    expect((error as LifelineError).message).not.toMatch(/[\r\n]/);
    return error as LifelineError;
  }
}

describe('database and role names', () => {
  it('an accepted name fits PostgreSQL unshortened and holds nothing that quotes, ends a statement or names a path', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), hostile), (name) => {
        if (usage(() => validateName(name, 'name'))) return;
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_NAME_BYTES);
        expect(name).not.toMatch(/[\u0000-\u001f\u007f'";\\/=]/);
        expect(name.trim()).toBe(name);
      }),
      RUNS,
    );
    for (const ok of ['shop', 'shop_2', 'Shop-EU.prod', 'caf\u00e9', 'app@tenant']) expect(validateName(ok, 'name')).toBe(ok);
  });
});

describe('numeric flags', () => {
  it('take plain decimal digits in range and nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.integer({ min: -10, max: 100 }).map(String), fc.constantFrom('1e3', '0x10', '', ' 5', '3.5', '07', 'Infinity', 'NaN', '-0')), (text) => {
        const error = usage(() => wholeNumberFlag('--jobs', text, { min: 1, max: 64 }));
        if (error) return;
        expect(text).toMatch(/^\d+$/);
        expect(Number(text)).toBeGreaterThanOrEqual(1);
        expect(Number(text)).toBeLessThanOrEqual(64);
      }),
      RUNS,
    );
    expect(secondsFlag('--wait-lock', '0')).toBe(0);
    expect(() => secondsFlag('--timeout', '0', { min: 1 })).toThrow(/from 1 to/);
  });
});

describe('durations (runbook RTO/RPO targets)', () => {
  it('what the schema accepts parses to the sum of its parts', () => {
    const part = (unit: string) => fc.option(fc.integer({ min: 0, max: 9999 }).map((n) => `${n}${unit}`), { nil: '' });
    fc.assert(
      fc.property(part('d'), part('h'), part('m'), part('s'), (d, h, m, s) => {
        const text = `${d}${h}${m}${s}`;
        const ok = durationSchema.safeParse(text).success;
        expect(ok).toBe(text.length > 0);
        if (!ok) return;
        const n = (t: string) => Number(t.slice(0, -1) || 0);
        expect(parseDuration(text)).toBe(n(d) * 86_400_000 + n(h) * 3_600_000 + n(m) * 60_000 + n(s) * 1000);
      }),
      RUNS,
    );
  });

  it('the schema refuses anything else', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        if (durationSchema.safeParse(text).success) expect(text).toMatch(/^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$/);
      }),
      RUNS,
    );
  });
});
