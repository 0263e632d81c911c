// esbuild plugin: a fast path in front of every `string-width` the bundle uses (Ink measures every
// string it draws with it). string-width builds Unicode-property regexes at load (RGI_Emoji: ~20 ms
// here) and, for any non-ASCII text, runs them (~40 ms on first use): most of the TUI's first frame
// for a few marks like ✓ · → ●. Now strings made only of characters that are one column wide on
// their own and never join a neighbour into one grapheme are as wide as they are long, and the real
// string-width is set up only when other text needs it.
//
// The set of such characters is computed at build time by asking the very string-width version
// being wrapped, so the fast path can only ever agree with it.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';

/** Blocks the UI and typical operator text draw from (Latin, Greek, Cyrillic, punctuation, symbols, box drawing, Braille). */
const CANDIDATE_RANGES = [
  [0x00a0, 0x024f],
  [0x0370, 0x04ff],
  [0x2010, 0x205e],
  [0x2100, 0x23ff],
  [0x2500, 0x27bf],
  [0x2800, 0x28ff],
];

/** Characters that can merge with a neighbour into one grapheme, or have no width of their own. */
const JOINING = /[\p{M}\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;

/** A regex character class (without brackets) of the characters `stringWidth` counts as one column each. */
export async function oneColumnCharacterClass(stringWidthPath) {
  const { default: stringWidth } = await import(pathToFileURL(stringWidthPath).href);
  const ranges = [];
  for (const [from, to] of CANDIDATE_RANGES) {
    for (let code = from; code <= to; code++) {
      const char = String.fromCodePoint(code);
      if (JOINING.test(char) || stringWidth(char) !== 1) continue;
      const last = ranges.at(-1);
      if (last && last[1] === code - 1) last[1] = code;
      else ranges.push([code, code]);
    }
  }
  const hex = (code) => `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\u0020-\\u007e${ranges.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join('')}`;
}

/** string-width's module, its set-up deferred into a function that runs on the first slow-path call. */
export async function lazyStringWidthModule(path) {
  const source = await fs.promises.readFile(path, 'utf8');
  const lines = source.split('\n');
  const imports = lines.filter((line) => line.startsWith('import '));
  const body = lines.filter((line) => !line.startsWith('import ')).join('\n');
  const exported = 'export default function stringWidth(';
  const setUp = body.replace(exported, 'function stringWidth(');
  if (!body.includes(exported) || /^export /m.test(setUp)) throw new Error(`string-width changed shape: ${path}`);
  return [
    ...imports,
    `const oneColumnEach = /^[${await oneColumnCharacterClass(path)}]*$/;`,
    'let slow;',
    `function setUp() {\n${setUp}\nreturn stringWidth;\n}`,
    'export default function fastStringWidth(input, options) {',
    '  if (typeof input === "string" && options?.ambiguousIsNarrow !== false && oneColumnEach.test(input)) return input.length;',
    '  return (slow ??= setUp())(input, options);',
    '}',
  ].join('\n');
}

export const stringWidthFast = {
  name: 'string-width-fast',
  setup(build) {
    build.onLoad({ filter: /[/\\]node_modules[/\\]string-width[/\\]index\.js$/ }, async (args) => ({
      contents: await lazyStringWidthModule(args.path),
      loader: 'js',
    }));
  },
};
