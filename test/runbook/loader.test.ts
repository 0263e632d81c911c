import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRunbookText, loadRunbookFile } from '../../src/runbook/loader.js';
import { findRunbook, runbookDirs, shippedRunbookDir } from '../../src/runbook/files.js';
import { quickRunbookList } from '../../src/runbook/files.js';
import { createBuiltinRegistry } from '../../src/runbook/builtins.js';
import { resolveParams } from '../../src/runbook/params.js';
import { RunbookInvalidError } from '../../src/runbook/problems.js';
import { runbookJsonSchema } from '../../src/runbook/schema.js';
import { load, newWorld, tempDir, testRegistry } from './helpers.js';

const registry = testRegistry(newWorld());
const problemsOf = (text: string) => {
  const result = checkRunbookText({ text, file: 'rb.yaml', registry });
  if (result.ok) throw new Error('expected problems');
  return result.problems;
};

describe('runbook loader', () => {
  it('accepts a runbook with every step kind and gives it defaults', () => {
    const loaded = load(
      `id: ok
title: OK
params:
  when: { type: timestamp }
  mode: { type: choice, choices: [fast, slow], default: fast }
steps:
  - id: first
    title: First
    action: count
    confirm: { type: typed }
  - id: second
    title: Second {{steps.first.n}}
    manual: Check {{params.mode}} on {{target.database}}
    checks: { pre: [{ check: flag, with: { name: db } }] }
    on_failure: { rollback: [{ id: undo, title: Undo, action: count, with: { key: "{{steps.first.n}}" } }] }
`,
      registry,
    );
    expect(loaded.runbook.kind).toBe('routine');
    expect(loaded.runbook.steps[0].confirm).toEqual({ type: 'typed', phrase: '{{target.database}}' });
    expect(loaded.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects malformed YAML with the line and column', () => {
    const [problem] = problemsOf('id: x\ntitle: [unclosed\nsteps: []\n');
    expect(problem).toMatchObject({ file: 'rb.yaml', line: 3 });
    expect(problem.message).toMatch(/^YAML: /);
  });

  it('rejects an unknown action at its line and column, naming the known ones', () => {
    const problems = problemsOf('id: x\ntitle: X\nsteps:\n  - id: a\n    title: A\n    action: restroe\n');
    expect(problems).toEqual([
      { file: 'rb.yaml', line: 6, column: 13, path: 'steps[0].action', message: expect.stringMatching(/unknown action "restroe" \(known: .*count.*shell.*wait/) },
    ]);
  });

  it('rejects an unknown check with its location', () => {
    const problems = problemsOf('id: x\ntitle: X\nsteps:\n  - id: a\n    title: A\n    checks:\n      pre:\n        - disk.frree\n');
    expect(problems[0]).toMatchObject({ line: 8, column: 11, path: 'steps[0].checks.pre[0]', message: expect.stringContaining('unknown check "disk.frree"') });
  });

  it('rejects templates that refer to nothing, or to a step that has not run yet', () => {
    const problems = problemsOf(`id: x
title: X
params:
  db: { type: text }
steps:
  - id: a
    title: A
    action: shell
    with: { command: [echo, "{{params.dbb}}", "{{steps.b.n}}", "{{steps.zz.n}}", "{{target.colour}}"] }
  - id: b
    title: B
    action: count
    with: { key: "{{steps.a.nope}}" }
`);
    expect(problems.map((p) => [p.path, p.line, p.message])).toEqual([
      ['steps[0].with.command[1]', 9, '{{params.dbb}} refers to no param (declared: db)'],
      ['steps[0].with.command[2]', 9, '{{steps.b.n}} refers to step "b", which does not run before this point'],
      ['steps[0].with.command[3]', 9, '{{steps.zz.n}} refers to no step "zz"'],
      ['steps[0].with.command[4]', 9, expect.stringContaining('target has no field "colour"')],
      ['steps[1].with.key', 13, '{{steps.a.nope}}: step "a" has no output "nope" (outputs: exitCode, lastLine)'],
    ]);
  });

  it('names missing and unknown fields, and bad action arguments', () => {
    const problems = problemsOf('id: x\nsteps:\n  - id: a\n    title: A\n    action: wait\n    with: { second: 3 }\n    colour: red\n');
    expect(problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`)).toEqual([
      '1:1 title: missing required field "title"',
      '7:13 steps[0].colour: unknown field "colour"',
    ]);
    const args = problemsOf('id: x\ntitle: X\nsteps:\n  - id: a\n    title: A\n    action: wait\n    with: { second: 3 }\n');
    expect(args.map((p) => `${p.path}: ${p.message}`)).toEqual(['steps[0].with.seconds: missing required field "seconds"', 'steps[0].with.second: unknown field "second"']);
  });

  it('rejects duplicate step ids and a step with neither action, manual nor checks', () => {
    const problems = problemsOf('id: x\ntitle: X\nsteps:\n  - { id: a, title: A, action: count }\n  - { id: a, title: B, action: count }\n');
    expect(problems[0].message).toBe('step id "a" is already used at steps.0');
    expect(problemsOf('id: x\ntitle: X\nsteps:\n  - { id: a, title: A }\n')[0].message).toMatch(/needs one of `action`, `manual` or `checks`/);
  });

  it('throws RunbookInvalidError (exit 2) from a file, pointing at the file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, 'id: bad\ntitle: Bad\nsteps:\n  - id: a\n    title: A\n    action: nope\n');
    const error = (() => {
      try {
        loadRunbookFile(file, registry);
      } catch (e) {
        return e as RunbookInvalidError;
      }
    })()!;
    expect(error).toBeInstanceOf(RunbookInvalidError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(`Invalid runbook: ${file}:6:13: steps[0].action: unknown action "nope" (known: backup, count, emit, flaky, instance.record, maintenance.off, maintenance.on, pitr.restore, restore, sandbox.create, sandbox.destroy, shell, sql.assert, verify, wait, wal.check)`);
  });

  it('finds runbooks by id in the user folder before the shipped one', () => {
    const user = tempDir();
    const shipped = tempDir();
    fs.writeFileSync(path.join(user, 'drill.yaml'), 'x');
    fs.writeFileSync(path.join(shipped, 'drill.yaml'), 'x');
    fs.writeFileSync(path.join(shipped, 'pitr.yml'), 'x');
    const dirs = runbookDirs({ userDir: user, shippedDir: shipped });
    expect(findRunbook('drill', dirs)).toBe(path.join(user, 'drill.yaml'));
    expect(findRunbook('pitr', dirs)).toBe(path.join(shipped, 'pitr.yml'));
    expect(() => findRunbook('nothing', dirs)).toThrow(/No runbook "nothing"/);
  });

  it('lists every runbook with the title its file states, without parsing it, exactly as the validated list names them', () => {
    const user = tempDir();
    const shipped = tempDir();
    fs.writeFileSync(path.join(user, 'drill.yaml'), 'id: drill\ntitle: "Our drill: 1st Monday"\nsteps: []\n');
    fs.writeFileSync(path.join(user, 'folded.yaml'), 'id: folded\ntitle: >\n  A long title\n');
    fs.writeFileSync(path.join(shipped, 'drill.yaml'), 'title: Shipped drill\n');
    fs.writeFileSync(path.join(shipped, 'pitr.yml'), "id: pitr\ndescription: |\n  title: not this one\ntitle: 'Point-in-time recovery'\n");
    expect(quickRunbookList(runbookDirs({ userDir: user, shippedDir: shipped }))).toEqual([
      { id: 'drill', title: 'Our drill: 1st Monday', source: 'user' },
      { id: 'folded', title: 'folded', source: 'user' },
      { id: 'pitr', title: 'Point-in-time recovery', source: 'shipped' },
    ]);
    // The shipped runbooks' quick titles are their real ones.
    const builtins = createBuiltinRegistry();
    for (const entry of quickRunbookList(runbookDirs({ shippedDir: shippedRunbookDir() }))) {
      expect(entry.title, entry.id).toBe(loadRunbookFile(path.join(shippedRunbookDir(), `${entry.id}.yaml`), builtins).runbook.title);
    }
  });

  it('writes a JSON Schema that editors can use', () => {
    const schema = runbookJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    expect(schema.required).toEqual(expect.arrayContaining(['id', 'title', 'steps']));
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['params', 'targets', 'measure', 'steps']));
    expect(JSON.stringify(schema)).toContain('"yes-no"');
  });
});

describe('runbook params', () => {
  const loaded = load(
    `id: p
title: P
params:
  when: { type: timestamp, description: the incident time }
  mode: { type: choice, choices: [fast, slow], default: fast }
  trainee: { type: text, default: "{{run.operator}}" }
steps:
  - { id: a, title: A, action: count }
`,
    registry,
  );
  const run = { id: 'r', operator: 'alice', host: 'h', started_at: '2026-11-24T22:00:00Z' };

  it('takes given values, defaults and templated defaults, and normalises times to UTC', async () => {
    expect(await resolveParams({ loaded, given: { when: '2026-11-24T21:30:00+01:00' }, run })).toEqual({ when: '2026-11-24T20:30:00.000Z', mode: 'fast', trainee: 'alice' });
  });

  it('without a person, a missing required param names the --param that answers it and where it is declared', async () => {
    const error = await resolveParams({ loaded, given: {}, run }).catch((e) => e);
    expect(error).toMatchObject({ code: 'INPUT_NEEDED', exitCode: 4, message: 'Param "when" needs a value and nobody can be asked (no terminal).' });
    expect(error.hint).toBe('Pass --param when=<timestamp> (declared at /runbooks/test.yaml:4:9: the incident time).');
  });

  it('asks a person for a missing param', async () => {
    const values = await resolveParams({ loaded, given: {}, run, ask: async ({ name }) => (name === 'when' ? '2026-11-24T20:30:00Z' : 'x') });
    expect(values.when).toBe('2026-11-24T20:30:00.000Z');
  });

  it('refuses a time without offset, an impossible date, a value outside the choices and an unknown param', async () => {
    await expect(resolveParams({ loaded, given: { when: '2026-11-24 21:30' }, run })).rejects.toThrow(/no UTC offset/);
    await expect(resolveParams({ loaded, given: { when: '2026-02-30T10:00:00Z' }, run })).rejects.toThrow(/no such date/);
    await expect(resolveParams({ loaded, given: { when: '2026-11-24T20:30:00Z', mode: 'medium' }, run })).rejects.toThrow('Param "mode" must be one of fast, slow (got "medium").');
    await expect(resolveParams({ loaded, given: { whn: 'x' }, run })).rejects.toMatchObject({ code: 'USAGE', hint: 'Its params: when, mode, trainee.' });
  });
});
