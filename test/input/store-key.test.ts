import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertValidKey, assertValidPrefix } from '../../src/storage/store.js';
import { LocalStore } from '../../src/storage/local-store.js';

/* No key lifeline accepts can name a file outside the repository. */

const RUNS = { numRuns: 200 };
let root: string;
let outside: string;

beforeAll(async () => {
  outside = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'lifeline-keys-'));
  root = path.join(outside, 'repo');
  fs.mkdirSync(root);
});
afterAll(() => fs.promises.rm(outside, { recursive: true, force: true }));

/** Keys built from segments that include every way out: "..", ".", "", absolute, backslash, NUL. */
const segment = fc.oneof(
  fc.constantFrom('..', '.', '', 'backups', 'wal', '..\\..', 'a\\b', 'x\u0000y', '/', '%2e%2e', '.tmp-x', 'C:', '~'),
  fc.stringMatching(/^[A-Za-z0-9._+=@,-]{1,12}$/),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const key = fc.oneof(
  fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/')),
  fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
  fc.string({ unit: 'binary' }),
);

function accepted(check: (k: string) => void, k: string): boolean {
  try {
    check(k);
    return true;
  } catch {
    return false;
  }
}

describe('store keys', () => {
  it('every accepted key stays below the repository root, with no backslash or NUL', () => {
    fc.assert(
      fc.property(key, (k) => {
        if (!accepted(assertValidKey, k)) return;
        const file = path.resolve(root, ...k.split('/'));
        expect(file.startsWith(`${root}${path.sep}`)).toBe(true);
        expect(k).not.toMatch(/[\\\u0000]/);
        expect(k.split('/')).not.toContain('..');
      }),
      RUNS,
    );
  });

  it('every accepted prefix stays below the root too', () => {
    fc.assert(
      fc.property(key, (k) => {
        if (!accepted(assertValidPrefix, k)) return;
        expect(path.resolve(root, ...k.split('/')).startsWith(root)).toBe(true);
        expect(k.split('/')).not.toContain('..');
      }),
      RUNS,
    );
  });

  it('a LocalStore refuses a bad key before touching the disk, and writes a good one inside its root', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(key, async (k) => {
        // A store per run: "a" then "a/b" would otherwise collide as file and folder.
        const runRoot = path.join(root, String(run++));
        const ok = accepted(assertValidKey, k);
        const put = new LocalStore({ root: runRoot }).put(k, 'x').then(
          () => true,
          () => false,
        );
        expect(await put).toBe(ok);
        if (ok) expect(fs.readFileSync(path.join(runRoot, ...k.split('/')), 'utf8')).toBe('x');
      }),
      { numRuns: 60 },
    );
    // Nothing was written next to the repository.
    expect(fs.readdirSync(outside)).toEqual(['repo']);
  });
});
