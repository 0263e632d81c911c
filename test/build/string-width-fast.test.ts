import { build } from 'esbuild';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs build script without types
import { stringWidthFast } from '../../scripts/string-width-fast.mjs';

type StringWidth = (input: string, options?: { ambiguousIsNarrow?: boolean; countAnsiEscapeCodes?: boolean }) => number;

// Every string-width the bundle contains (Ink's and wrap-ansi's own copy).
const originals = [
  path.resolve('node_modules/string-width/index.js'),
  path.resolve('node_modules/wrap-ansi/node_modules/string-width/index.js'),
].filter((file) => fs.existsSync(file));

// Text the fast path takes, and text it must leave to the real string-width: wide CJK, emoji,
// combining marks, joiners, variation selectors, Hangul jamo, ANSI colour codes.
const alphabet = [...'az AZ09~·✓✗→↓↑●○…‖↷█░❯⚠⠋•éΩЖ—“”│└├─', '한', '中', '✅', '⌚', '\u0301', '\u200d', '\ufe0f', '\u1100', '\u1161', '👍', '🏽', '\u001b[31m', '\u001b[39m', '\t', '\u00ad'];

describe('the bundle\'s string-width fast path', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-sw-'));
  const bundled: StringWidth[] = [];
  const real: StringWidth[] = [];

  beforeAll(async () => {
    for (const [index, original] of originals.entries()) {
      const outfile = path.join(dir, `sw${index}.mjs`);
      await build({
        stdin: { contents: `export { default } from ${JSON.stringify(original)};`, resolveDir: process.cwd(), loader: 'js' },
        bundle: true,
        format: 'esm',
        platform: 'node',
        outfile,
        plugins: [stringWidthFast],
        logLevel: 'silent',
      });
      bundled.push((await import(pathToFileURL(outfile).href)).default);
      real.push((await import(pathToFileURL(original).href)).default);
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds both copies of string-width', () => {
    expect(originals.length).toBe(2);
  });

  it('measures every string exactly as the real string-width does', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 24 }), fc.boolean(), (parts, ambiguousIsNarrow) => {
        const text = parts.join('');
        for (const [index, fast] of bundled.entries()) {
          expect(fast(text)).toBe(real[index]!(text));
          expect(fast(text, { ambiguousIsNarrow })).toBe(real[index]!(text, { ambiguousIsNarrow }));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('agrees on every single character of the blocks it speeds up', () => {
    for (let code = 0x20; code <= 0x28ff; code++) {
      const char = String.fromCodePoint(code);
      for (const [index, fast] of bundled.entries()) expect(fast(char), `U+${code.toString(16)}`).toBe(real[index]!(char));
    }
  });
});
