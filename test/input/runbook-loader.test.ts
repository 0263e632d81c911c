import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkRunbookText, parseRunbook } from '../../src/runbook/loader.js';
import { shippedRunbookDir } from '../../src/runbook/files.js';
import { createBuiltinRegistry } from '../../src/runbook/builtins.js';
import { normalizeParam } from '../../src/runbook/params.js';
import { RunbookInvalidError } from '../../src/runbook/problems.js';
import { LifelineError } from '../../src/errors.js';

/* Whatever a runbook file holds, the loader answers with the runbook or with located problems. */

const RUNS = { numRuns: 150 };
const registry = createBuiltinRegistry();
const drill = fs.readFileSync(path.join(shippedRunbookDir(), 'drill.yaml'), 'utf8');

function check(text: string): void {
  const result = checkRunbookText({ text, file: 'fuzz.yaml', registry });
  if (result.ok) return;
  expect(result.problems.length).toBeGreaterThan(0);
  for (const problem of result.problems) {
    expect(problem.line).toBeGreaterThanOrEqual(1);
    expect(problem.column).toBeGreaterThanOrEqual(1);
    expect(typeof problem.message).toBe('string');
  }
  // The error the CLI shows: USAGE (exit 2), one line.
  try {
    parseRunbook({ text, file: 'fuzz.yaml', registry });
  } catch (error) {
    expect(error).toBeInstanceOf(RunbookInvalidError);
    expect((error as LifelineError).exitCode).toBe(2);
    expect((error as LifelineError).message).not.toMatch(/[\r\n]/);
  }
}

/** A copy of `value` with the node at a random path replaced. */
function mutate(value: unknown, pathChoices: number[], replacement: unknown): unknown {
  if (!pathChoices.length || value === null || typeof value !== 'object') return replacement;
  const [choice, ...rest] = pathChoices;
  if (Array.isArray(value)) {
    if (!value.length) return replacement;
    const copy = [...value];
    const i = choice % value.length;
    copy[i] = mutate(copy[i], rest, replacement);
    return copy;
  }
  const keys = Object.keys(value);
  if (!keys.length) return replacement;
  const key = keys[choice % keys.length];
  return { ...value, [key]: mutate((value as Record<string, unknown>)[key], rest, replacement) };
}

describe('the runbook loader', () => {
  it('never throws on any text', () => {
    const yamlish = fc
      .array(fc.constantFrom('id: x\n', 'steps:\n', '  - ', '&a ', '*a ', '*b ', '[', ']', '{', '}', ': ', '- ', '!!binary ', '!!js/function ', '? ', '"\\u0000"', "'", '\n', '  ', '{{params.x}}', '__proto__: ', 'constructor: ', '%YAML 1.1\n---\n', '<<: *a\n'), { maxLength: 30 })
      .map((parts) => parts.join(''));
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary' }), yamlish), check), RUNS);
  });

  it('never throws on any YAML value, even one shaped like a runbook', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => check(stringify(value))), RUNS);
  });

  it('never throws on a shipped runbook with one field replaced by anything', () => {
    const original = parseRunbook({ text: drill, file: 'drill.yaml', registry }).runbook;
    const replacement = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('{{steps.nope.x}}', '{{params.constructor}}', '{{target.__proto__}}', '../../etc/passwd', "x'; DROP TABLE x;--", '\u0000'));
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 6 }), replacement, (choices, value) => check(stringify(mutate(original, choices, value)))),
      RUNS,
    );
  });

  it('refuses an alias bomb and an unknown alias as problems, not crashes', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefg'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefg'[i]}`).join(',')}]`)].join('\n');
    for (const text of [bomb, 'id: *nope']) {
      const result = checkRunbookText({ text, file: 'bomb.yaml', registry });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.problems[0].message).toMatch(/^YAML: /);
    }
  });

  it('params: any value is normalised or refused with USAGE, and never keeps a control character', () => {
    const params = [
      { type: 'text' as const, required: true },
      { type: 'backup' as const, required: true },
      { type: 'target' as const, required: true },
      { type: 'timestamp' as const, required: true },
      { type: 'choice' as const, required: true, choices: ['a', 'b'] },
    ];
    fc.assert(
      fc.property(fc.constantFrom(...params), fc.string({ unit: 'binary' }), (param, value) => {
        try {
          const normalized = normalizeParam('p', param, value);
          expect(normalized).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
          if (param.type === 'backup' || param.type === 'target') expect(normalized).not.toMatch(/[/\\.]{2}|^\/|['";\s]/);
        } catch (error) {
          expect(error).toBeInstanceOf(LifelineError);
          expect((error as LifelineError).code).toBe('USAGE');
        }
      }),
      RUNS,
    );
  });
});
