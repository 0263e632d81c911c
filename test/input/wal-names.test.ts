import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatLsn, parseLsn, parseWalName, segmentName, segmentNumber, timelineHex } from '../../src/engine/wal/names.js';

/* WAL file names arrive from PostgreSQL (wal-push %p, wal-fetch %f) and from the repository. */

const RUNS = { numRuns: 200 };
const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
const SIZES = [1, 16, 64, 1024].map((mb) => mb * 1024 * 1024);

describe('WAL file names', () => {
  it('never throw; what parses is one of the four shapes, a single path segment', () => {
    const near = fc.stringMatching(/^[0-9A-Fa-f]{8,24}(\.(history|partial|[0-9A-F]{8}\.backup))?$/);
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), near), (name) => {
        const parsed = parseWalName(name);
        if (!parsed) return;
        expect(parsed.name).toBe(name);
        expect(name).toMatch(/^[0-9A-F]{8}(([0-9A-F]{16})(\.partial|\.[0-9A-F]{8}\.backup)?|\.history)$/);
        expect(parsed.timeline).toBeGreaterThan(0);
      }),
      RUNS,
    );
  });

  it('a segment name round-trips through its timeline and segment number, for every segment size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xffffffff }), fc.constantFrom(...SIZES), fc.integer({ min: 0, max: 2 ** 40 }), (timeline, size, n) => {
        const per = 0x100000000 / size;
        const number = n % (per * 0xffffffff);
        const name = segmentName(timeline, number, size);
        const parsed = parseWalName(name)!;
        expect(parsed).toMatchObject({ kind: 'segment', timeline });
        expect(segmentNumber(parsed, size)).toBe(number);
        expect(name.slice(0, 8)).toBe(timelineHex(timeline));
      }),
      RUNS,
    );
  });

  it('history, backup and partial names keep their timeline; timeline 0 is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (timeline, x) => {
        const names = [`${hex8(timeline)}.history`, `${hex8(timeline)}${hex8(x)}${hex8(x & 0xff)}.partial`, `${hex8(timeline)}${hex8(x)}${hex8(0)}.${hex8(x)}.backup`];
        for (const name of names) {
          const parsed = parseWalName(name);
          if (timeline === 0) expect(parsed).toBeUndefined();
          else expect(parsed?.timeline).toBe(timeline);
        }
      }),
      RUNS,
    );
  });

  it('LSNs round-trip through their byte position', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (position) => {
        expect(parseLsn(formatLsn(position))).toBe(position);
      }),
      RUNS,
    );
  });
});
