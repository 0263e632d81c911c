import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { BIN, auditPath, lifeline } from './cli.js';
import { tempDir } from './helpers.js';

/** Polls a condition without fixed sleeps longer than a tick; fails after `ms`. */
async function until(condition: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a run killed mid-step', () => {
  it('resumes from the unfinished step with --resume, and the audit chain stays valid', async () => {
    const home = tempDir();
    const marks = path.join(home, 'marks.txt');
    const gate = path.join(home, 'gate');
    const runbook = path.join(home, 'killme.yaml');
    fs.writeFileSync(
      runbook,
      `id: killme
title: Killed half-way
steps:
  - id: mark
    title: Leave a mark
    action: shell
    with: { command: [sh, -c, 'echo mark >> "$0"', "${marks}"] }
  - id: gate
    title: Wait for the gate
    action: shell
    with: { command: [sh, -c, 'while [ ! -f "$0" ]; do sleep 0.05; done; echo through', "${gate}"] }
  - id: after
    title: After
    action: wait
    with: { seconds: 0 }
`,
    );
    const child = execa(process.execPath, [BIN, 'run', runbook, '--yes'], {
      env: { LIFELINE_HOME: home, PATH: process.env.PATH, LIFELINE_OPERATOR: 'first' },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    const auditDir = path.join(home, 'state', 'audit');
    let file = '';
    await until(() => {
      const names = fs.existsSync(auditDir) ? fs.readdirSync(auditDir) : [];
      file = names[0] ? path.join(auditDir, names[0]) : '';
      return Boolean(file) && fs.readFileSync(file, 'utf8').includes('"kind":"step-started","data":{"title":"Wait for the gate"');
    });
    child.kill('SIGKILL');
    const killed = await child;
    expect(killed.signal).toBe('SIGKILL');
    const runId = path.basename(file, '.jsonl');

    const state = JSON.parse(fs.readFileSync(path.join(home, 'state', 'runs', `${runId}.json`), 'utf8'));
    expect(state).toMatchObject({ status: 'running', current: 'gate', steps: { mark: { outcome: 'ok' } } });
    expect(verifyAuditFile(file)).toMatchObject({ ok: true, complete: false });
    expect((await lifeline(home, ['audit', 'verify', runId])).exitCode).toBe(3);

    fs.writeFileSync(gate, '');
    const resumed = await lifeline(home, ['run', '--resume', runId, '--operator', 'second']);
    expect(resumed.stdout).toContain(`resuming from step gate (the run was running)`);
    expect(resumed.exitCode).toBe(0);
    expect(fs.readFileSync(marks, 'utf8')).toBe('mark\n');

    const verify = await lifeline(home, ['audit', 'verify', runId]);
    expect(verify.exitCode).toBe(0);
    expect(verify.stdout).toContain('intact');
    const lines = fs.readFileSync(auditPath(home, runId), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.filter((line) => line.kind === 'run-started').map((line) => line.operator)).toEqual(['first', 'second']);
    expect(lines.filter((line) => line.kind === 'step-finished').map((line) => `${line.step}:${line.data.outcome}`)).toEqual(['mark:ok', 'gate:ok', 'after:ok']);

    const report = await lifeline(home, ['audit', 'report', runId]);
    expect(report.stdout).toMatch(/\| Resumed \| .* by second \|/);
    expect(report.stdout).toMatch(/Wait for the gate \(`gate`\) \| action \| [\d:]+ \| [\d.]+s \| ok \| interrupted 1x, resumed \|/);
  });
});
