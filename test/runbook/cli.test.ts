import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lifeline } from './cli.js';
import { tempDir } from './helpers.js';

function write(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const UNREACHABLE = 'postgresql://app:s3cret@127.0.0.1:1/shop?connect_timeout=2';

describe('lifeline run without a terminal', () => {
  it('a confirmation nobody can answer ends the run with exit 4 and names --yes', async () => {
    const home = tempDir();
    const file = write(home, 'c.yaml', 'id: c\ntitle: C\nsteps:\n  - { id: a, title: A, action: wait, with: { seconds: 0 }, confirm: { type: yes-no } }\n');
    const result = await lifeline(home, ['run', file]);
    expect(result.exitCode).toBe(4);
    expect(result.stdout).toContain('hint: Pass --yes to answer yes/no confirmations');
    expect(result.stdout).toMatch(/resume with: lifeline run --resume \d{8}T\d{6}Z-c-[0-9a-f]{4}/);

    const yes = await lifeline(home, ['run', file, '--yes']);
    expect(yes.exitCode).toBe(0);
    expect(yes.stdout).toContain('answer: yes (unattended)');
  });

  it('--yes never answers a typed confirmation against a real target: exit 4', async () => {
    const home = tempDir();
    const file = write(home, 't.yaml', 'id: t\ntitle: T\nsteps:\n  - { id: drop, title: Drop, action: wait, with: { seconds: 0 }, confirm: { type: typed } }\n');
    const result = await lifeline(home, ['run', file, '--yes', '--db', UNREACHABLE]);
    expect(result.exitCode).toBe(4);
    expect(result.stdout).toContain('Step "drop" needs the operator to type "shop"');
    expect(result.stdout).toContain('--yes never answers a typed confirmation against a target that is not the sandbox');
  });

  it('a missing required param is refused before the first step: exit 4 naming --param and where it is declared', async () => {
    const home = tempDir();
    const file = write(home, 'p.yaml', 'id: p\ntitle: P\nparams:\n  when: { type: timestamp }\nsteps:\n  - { id: a, title: A, action: wait, with: { seconds: 0 } }\n');
    const result = await lifeline(home, ['run', file]);
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain(`hint: Pass --param when=<timestamp> (declared at ${file}:4:9).`);
    expect(fs.existsSync(path.join(home, 'state', 'audit'))).toBe(false);
    const bad = await lifeline(home, ['run', file, '--param', 'when=yesterday']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('not ISO 8601');
  });

  it('a malformed runbook is refused with file:line:column and exit 2, before anything runs', async () => {
    const home = tempDir();
    const file = write(home, 'm.yaml', 'id: m\ntitle: M\nsteps:\n  - id: a\n    title: A\n    action: restroe\n  - id: b\n    title: B\n    action: wait\n    with: { seconds: "{{steps.zz.n}}" }\n');
    const run = await lifeline(home, ['run', file]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(`error: Invalid runbook: ${file}:6:13: steps[0].action: unknown action "restroe"`);
    expect(run.stderr).toContain('1 more problem');
    const validate = await lifeline(home, ['runbooks', 'validate', file]);
    expect(validate.exitCode).toBe(2);
    expect(validate.stderr.trim().split('\n')).toEqual([
      expect.stringContaining(`${file}:6:13: steps[0].action: unknown action "restroe"`),
      `${file}:10:22: steps[1].with.seconds: {{steps.zz.n}} refers to no step "zz"`,
    ]);
    const yamlError = await lifeline(home, ['runbooks', 'validate', write(home, 'y.yaml', 'id: y\n  title: [\n')]);
    expect(yamlError.exitCode).toBe(2);
    expect(yamlError.stderr).toMatch(/y\.yaml:\d+:\d+: YAML: /);
  });

  it('a failing live check with nobody to decide aborts the run with exit 1, and no secret reaches the trail', async () => {
    const home = tempDir();
    const file = write(home, 'k.yaml', 'id: k\ntitle: K\nsteps:\n  - { id: a, title: A, action: wait, with: { seconds: 0 }, checks: { pre: [database.reachable] } }\n');
    const result = await lifeline(home, ['run', file, '--yes', '--db', UNREACHABLE]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/FAIL pre-check .*reachable/);
    expect(result.stdout).toContain('answer: abort: no operator to decide after a pre-check failed (unattended)');
    const [audit] = fs.readdirSync(path.join(home, 'state', 'audit'));
    const text = fs.readFileSync(path.join(home, 'state', 'audit', audit), 'utf8');
    expect(text).not.toContain('s3cret');
    expect(text).toContain('"kind":"check-result"');
  });

  it('dry-run describes actions and changes nothing', async () => {
    const home = tempDir();
    const marker = path.join(home, 'touched');
    const file = write(home, 'd.yaml', `id: d\ntitle: D\nsteps:\n  - { id: touch, title: Touch, action: shell, with: { command: [touch, "${marker}"] }, confirm: { type: typed } }\n`);
    const result = await lifeline(home, ['run', file, '--dry-run', '--db', UNREACHABLE]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`will: run touch ${marker}`);
    expect(result.stdout).toContain('[dry-run: nothing will be changed]');
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe('lifeline runbooks and audit commands', () => {
  it('runbooks schema prints a JSON Schema; runbooks list shows user runbooks', async () => {
    const home = tempDir();
    const schema = await lifeline(home, ['runbooks', 'schema']);
    expect(schema.exitCode).toBe(0);
    expect(JSON.parse(schema.stdout)).toMatchObject({ type: 'object', required: expect.arrayContaining(['steps']) });
    fs.mkdirSync(path.join(home, 'config', 'runbooks'), { recursive: true });
    write(path.join(home, 'config', 'runbooks'), 'mine.yaml', 'id: mine\ntitle: Mine\nsteps:\n  - { id: a, title: A, manual: Do it }\n');
    write(path.join(home, 'config', 'runbooks'), 'broken.yaml', 'id: broken\n');
    const list = await lifeline(home, ['runbooks', 'list', '--json']);
    const { runbooks } = JSON.parse(list.stdout);
    expect(runbooks.filter((r: { source: string }) => r.source === 'user').map((r: { id: string; valid: boolean }) => [r.id, r.valid])).toEqual([
      ['broken', false],
      ['mine', true],
    ]);
    const byId = await lifeline(home, ['run', 'mine', '--yes']);
    expect(byId.exitCode).toBe(0);
  });

  it('audit list, verify and report work on run ids; verify fails on an edited line and names it', async () => {
    const home = tempDir();
    const file = write(home, 'a.yaml', 'id: a\ntitle: A\nkind: drill\ntargets: { rto: 10m }\nmeasure: { recovered: a }\nsteps:\n  - { id: a, title: A, action: wait, with: { seconds: 0 } }\n');
    expect((await lifeline(home, ['run', file])).exitCode).toBe(0);
    const { runs } = JSON.parse((await lifeline(home, ['audit', 'list', '--json'])).stdout);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ runbook: 'a', outcome: 'succeeded', operator: 'ci-bot' });
    const id = runs[0].id;
    expect((await lifeline(home, ['audit', 'verify', id])).exitCode).toBe(0);

    const out = path.join(home, 'report.md');
    const report = await lifeline(home, ['audit', 'report', id, '--out', out]);
    expect(report.exitCode).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toMatch(/\| RTO \(start to verified recovery\) \| 10m \| [\d.]+s \| yes \|/);

    const lines = fs.readFileSync(runs[0].file, 'utf8').split('\n');
    lines[1] = lines[1].replace('"operator":"ci-bot"', '"operator":"someone-else"');
    fs.writeFileSync(runs[0].file, lines.join('\n'));
    const verify = await lifeline(home, ['audit', 'verify', id]);
    expect(verify.exitCode).toBe(1);
    expect(verify.stdout).toContain('BROKEN at line 2: its content does not match its hash (edited)');
  });
});
