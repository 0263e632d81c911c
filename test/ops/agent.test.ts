import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot, runCli, tempHome } from '../helpers/cluster.js';

const never = '0 0 0 1 1 *'; // Jan 1, midnight: not during a test

/** Starts `lifeline agent` and resolves once stderr matches `until` (or rejects on timeout). */
function startAgent(env: Record<string, string>) {
  const child = execa(process.execPath, [path.join(repoRoot, 'bin/lifeline.js'), 'agent'], { env: { ...env, CI: '1' }, reject: false, all: false });
  let stderr = '';
  const waiters: { re: RegExp; count: number; resolve: () => void }[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const w of [...waiters]) if ((stderr.match(new RegExp(w.re.source, 'g')) ?? []).length >= w.count) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  return {
    child,
    stderr: () => stderr,
    waitFor: (re: RegExp, count = 1, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} x${count}; stderr:\n${stderr}`)), timeoutMs);
        waiters.push({ re, count, resolve: () => (clearTimeout(timer), resolve()) });
        child.stderr!.emit('data', Buffer.alloc(0));
      }),
  };
}

async function configure(env: Record<string, string>, schedules: Record<string, string>) {
  for (const job of ['daily', 'pitr', 'verify', 'prune', 'drill']) {
    const r = await runCli(['config', 'set', `policy.schedules.${job}.cron`, JSON.stringify(schedules[job] ?? never)], { env });
    expect(r.exitCode, r.stderr).toBe(0);
  }
}

it('runs a compressed schedule one job at a time, each with its own audit trail, and stops cleanly on SIGTERM', async () => {
  const home = await tempHome();
  try {
    await configure(home.env, { prune: '* * * * * *' });
    const agent = startAgent(home.env);
    await agent.waitFor(/prune: finished with exit 0/, 2);
    agent.child.kill('SIGTERM');
    const result = await agent.child;
    expect(result.exitCode).toBe(0);
    expect(agent.stderr()).toMatch(/agent stopped/);
    // Never two prunes at once: every start is followed by its finish before the next start.
    const events = agent.stderr().match(/prune: (starting|finished)/g)!;
    events.forEach((e, i) => expect(e).toBe(i % 2 === 0 ? 'prune: starting' : 'prune: finished'));

    const list = await runCli(['--json', 'audit', 'list'], { env: home.env });
    const runs = JSON.parse(list.stdout).runs.filter((r: { runbook: string }) => r.runbook === 'agent-prune');
    expect(runs.length).toBeGreaterThanOrEqual(2);
    const verify = await runCli(['audit', 'verify', runs[0].id], { env: home.env });
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
  } finally {
    await home.cleanup();
  }
});

it('runs a slot missed while it was not running once at start, not once per slot', async () => {
  const home = await tempHome();
  try {
    await configure(home.env, { verify: '*/20 * * * * *' });
    const state = path.join(home.home, 'state');
    fs.mkdirSync(state, { recursive: true });
    fs.writeFileSync(path.join(state, 'agent.json'), JSON.stringify({ lastRun: { verify: new Date(Date.now() - 3_600_000).toISOString() } }));
    const agent = startAgent(home.env);
    await agent.waitFor(/verify: finished with exit/);
    agent.child.kill('SIGTERM');
    await agent.child;
    expect(agent.stderr().match(/verify: due \(missed since/g)).toHaveLength(1);
    expect(agent.stderr().match(/verify: starting/g)!.length).toBeLessThanOrEqual(2);
  } finally {
    await home.cleanup();
  }
});

it('prints the equivalent crontab lines', async () => {
  const home = await tempHome();
  try {
    const r = await runCli(['agent', '--print-cron'], { env: home.env });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^0 2 \* \* \* .*lifeline\.js backup --label daily/m);
    expect(r.stdout).toMatch(/^0 \*\/6 \* \* \* .*backup --physical --label pitr/m);
  } finally {
    await home.cleanup();
  }
});
