import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatBackupId, parseBackupId, validateBackupRef } from '../../src/storage/backup-id.js';
import { LifelineError } from '../../src/errors.js';

/* Property tests for backup ids (what `restore <id>`, `verify <id>` and runbook params accept). */

const RUNS = { numRuns: 200 };
const label = fc.stringMatching(/^[a-z](?:[a-z0-9-]{0,20}[a-z])?$/);
const time = fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59) }).map((ms) => new Date(Math.floor(ms / 1000) * 1000));

describe('backup ids', () => {
  it('format then parse gives back the time, label and sequence', () => {
    fc.assert(
      fc.property(time, label, fc.integer({ min: 1, max: 1_000_000 }), (at, name, sequence) => {
        const id = formatBackupId({ time: at, label: name, sequence });
        expect(parseBackupId(id)).toEqual({ id, time: at, label: name, sequence });
      }),
      RUNS,
    );
  });

  it('parse never throws, and whatever parses formats back to the same text', () => {
    const nearId = fc.stringMatching(/^\d{8}T\d{6}Z-[a-z0-9-]{1,12}(-\d{1,3})?$/);
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), nearId), (text) => {
        const parsed = parseBackupId(text);
        if (parsed) expect(formatBackupId(parsed)).toBe(text);
      }),
      RUNS,
    );
  });

  it('a backup reference typed by a person is refused (USAGE) or is one safe path segment', () => {
    const hostile = fc.constantFrom('../../etc', '..', '.', '/etc/passwd', 'a/b', 'a\\b', 'x\u0000y', "x';DROP TABLE t;--", 'latest\n', 'a'.repeat(200), ' latest');
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), hostile), (ref) => {
        let accepted: string;
        try {
          accepted = validateBackupRef(ref);
        } catch (error) {
          expect(error).toBeInstanceOf(LifelineError);
          expect((error as LifelineError).code).toBe('USAGE');
          expect((error as LifelineError).message).not.toMatch(/[\r\n]/);
          return;
        }
        expect(accepted).toMatch(/^[0-9A-Za-z][0-9A-Za-z-]*$/);
        expect(accepted.length).toBeLessThanOrEqual(100);
      }),
      RUNS,
    );
    for (const ok of ['latest', 'latest-verified', '20261124T020000Z-daily', '20261124']) expect(validateBackupRef(ok)).toBe(ok);
  });
});
