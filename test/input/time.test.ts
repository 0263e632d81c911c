import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatInZone, formatUtcAndLocal, parseTargetTime } from '../../src/engine/pitr/time.js';
import { parseTimestamp } from '../../src/runbook/params.js';
import { LifelineError } from '../../src/errors.js';

/* Property tests for the recovery-target parsers: `pitr --to`, timestamp params of runbooks. */

const RUNS = { numRuns: 200 };
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham'];
const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** A wall-clock date and time with every field in range, and a day valid for its month. */
const wallClock = fc
  .record({
    year: fc.integer({ min: 1970, max: 9998 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 31 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.integer({ min: 0, max: 59 }),
    fraction: fc.option(fc.stringMatching(/^\d{1,6}$/), { nil: undefined }),
  })
  .map((w) => ({ ...w, day: Math.min(w.day, daysIn(w.year, w.month)) }));

const offset = fc.oneof(
  fc.constant({ text: 'Z', minutes: 0 }),
  fc.record({ sign: fc.constantFrom(1, -1), hours: fc.integer({ min: 0, max: 14 }), minutes: fc.integer({ min: 0, max: 59 }), colon: fc.boolean() }).map((o) => ({
    text: `${o.sign < 0 ? '-' : '+'}${pad(o.hours)}${o.colon ? ':' : ''}${pad(o.minutes)}`,
    minutes: o.sign * (o.hours * 60 + o.minutes),
  })),
);

function text(w: fc.RecordValue<{ year: number; month: number; day: number; hour: number; minute: number; second: number; fraction?: string }>, separator = 'T'): string {
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}${separator}${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}${w.fraction ? `.${w.fraction}` : ''}`;
}

function expectUsageError(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LifelineError);
    expect((error as LifelineError).code).toBe('USAGE');
    expect((error as LifelineError).message).not.toMatch(/[\r\n]/);
    return;
  }
}

describe('pitr --to (parseTargetTime)', () => {
  it('never throws anything but a one-line USAGE error, whatever it is given', () => {
    const near = fc.stringMatching(/^[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}[T ][0-9]{1,3}:[0-9]{1,3}:[0-9]{1,3}(\.[0-9]{0,8})?\s*([Zz]|[+-][0-9]{1,4}(:[0-9]{0,3})?)?\s*$/);
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), near), fc.constantFrom(...ZONES), (input, zone) => {
        expectUsageError(() => parseTargetTime(input, zone));
      }),
      RUNS,
    );
  });

  it('reads a time with an offset as exactly that instant, and its UTC and PostgreSQL forms read back the same', () => {
    fc.assert(
      fc.property(wallClock, offset, fc.constantFrom('T', ' '), (w, o, separator) => {
        const expected = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - o.minutes * 60_000 + Number(((w.fraction ?? '') + '000').slice(0, 3));
        fc.pre(new Date(expected).getUTCFullYear() <= 9999);
        const parsed = parseTargetTime(`${text(w, separator)}${o.text}`, 'UTC');
        expect(parsed.at.getTime()).toBe(expected);
        for (const again of [parsed.utc, parsed.postgres]) {
          const back = parseTargetTime(again, 'Europe/Berlin');
          expect(back.at.getTime()).toBe(expected);
          expect(back.utc).toBe(parsed.utc);
        }
      }),
      RUNS,
    );
  });

  it('reads a time without an offset in the zone: the same wall clock there, or a refusal at a daylight-saving change', () => {
    fc.assert(
      fc.property(wallClock, fc.constantFrom(...ZONES), (w, zone) => {
        let parsed;
        try {
          parsed = parseTargetTime(text({ ...w, fraction: undefined }, ' '), zone);
        } catch (error) {
          expect((error as LifelineError).message).toMatch(/daylight-saving/);
          return;
        }
        expect(formatInZone(parsed.at, zone).slice(0, 19)).toBe(text({ ...w, fraction: undefined }, ' '));
      }),
      RUNS,
    );
  });

  it('refuses dates that are not on the calendar (2025-02-30, 2023-02-29, 2024-04-31)', () => {
    fc.assert(
      fc.property(wallClock, fc.integer({ min: 29, max: 31 }), offset, (w, day, o) => {
        fc.pre(day > daysIn(w.year, w.month));
        expect(() => parseTargetTime(`${text({ ...w, day })}${o.text}`, 'UTC')).toThrow(/is not a date/);
      }),
      RUNS,
    );
    expect(() => parseTargetTime('2025-02-30 10:00:00', 'UTC')).toThrow(/2025-02-30 is not a date/);
  });

  it('refuses years before 1970 instead of reading 0050 as 1950', () => {
    fc.assert(
      fc.property(wallClock, fc.integer({ min: 0, max: 1969 }), offset, (w, year, o) => {
        expect(() => parseTargetTime(`${text({ ...w, year, day: Math.min(w.day, 28) })}${o.text}`, 'UTC')).toThrow(LifelineError);
      }),
      RUNS,
    );
    expect(() => parseTargetTime('0050-01-01 10:00:00Z', 'UTC')).toThrow(/before 1970/);
    expect(() => parseTargetTime('9999-12-31 23:00:00-14:00', 'UTC')).toThrow(/after the year 9999/);
  });
});

describe('timestamp params of runbooks (parseTimestamp)', () => {
  it('never throws anything but a USAGE error', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (input) => expectUsageError(() => parseTimestamp('t', input))),
      RUNS,
    );
  });

  it('accepts ISO 8601 with an offset and gives back an ISO instant that reads back unchanged', () => {
    fc.assert(
      fc.property(wallClock, offset, (w, o) => {
        const expected = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - o.minutes * 60_000 + Number(((w.fraction ?? '') + '000').slice(0, 3));
        fc.pre(new Date(expected).getUTCFullYear() <= 9999);
        const iso = parseTimestamp('t', `${text(w)}${o.text}`);
        expect(Date.parse(iso)).toBe(expected);
        expect(parseTimestamp('t', iso)).toBe(iso);
      }),
      RUNS,
    );
  });

  it('refuses a time without an offset and a day off the calendar', () => {
    expect(() => parseTimestamp('t', '2026-11-24T21:30:00')).toThrow(/no UTC offset/);
    expect(() => parseTimestamp('t', '2025-02-30T10:00:00Z')).toThrow(/no such date/);
    expect(() => parseTimestamp('t', '0050-01-01T10:00:00Z')).toThrow(/LifelineError|trust/);
  });

  it('a time is shown in UTC and the operator\'s zone, once where the zone is UTC', () => {
    const at = new Date('2025-02-23T10:00:00Z');
    expect(formatUtcAndLocal(at, 'Europe/Berlin')).toBe('2025-02-23 10:00:00.000 UTC (2025-02-23 11:00:00 Europe/Berlin (+01:00))');
    expect(formatUtcAndLocal(at, 'UTC')).toBe('2025-02-23 10:00:00.000 UTC');
    expect(formatUtcAndLocal(at, 'Etc/UTC')).toBe('2025-02-23 10:00:00.000 UTC');
  });
});
