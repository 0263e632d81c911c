import { execa, execaSync } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, tempHome, type TempHome } from '../helpers/cluster.js';

/**
 * The built CLI in a real pseudo-terminal: tmux gives `lifeline run drill` a TTY on stdin and
 * stdout (CI unset for that process only, or Ink draws no frames), we read the screen with
 * capture-pane and answer every prompt with Enter alone, as a trainee on the sandbox would.
 * NO_COLOR is set: the screen must carry no colour codes.
 */
const hasTmux = (() => {
  try {
    execaSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

const socket = `lifeline-e2e-${process.pid}`;
const session = 'drill';
const tmux = (...args: string[]) => execa('tmux', ['-L', socket, ...args], { reject: false });
const screen = async (withEscapes = false) => (await tmux('capture-pane', '-p', ...(withEscapes ? ['-e'] : []), '-t', session)).stdout;

let home: TempHome | undefined;
afterAll(async () => {
  await tmux('kill-server');
  await home?.cleanup();
});

describe.skipIf(!hasTmux)('lifeline run drill in a terminal (tmux)', () => {
  it('draws frames, completes the drill on the sandbox with Enter alone, shows the summary and exits 0', async () => {
    home = await tempHome();
    const exitFile = path.join(home.home, 'exit-code');
    const bin = path.join(repoRoot, 'bin', 'lifeline.js');
    const command = `env -u CI NO_COLOR=1 LIFELINE_HOME='${home.home}' LIFELINE_OPERATOR=trainee '${process.execPath}' '${bin}' run drill; echo $? > '${exitFile}'; sleep 60`;
    const started = await tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', command);
    expect(started.exitCode, started.stderr).toBe(0);

    // The first frame: the runbook screen with its step list.
    const first = await waitForScreen((text) => text.includes('Recovery drill in the sandbox') && text.includes('sandbox '), 30_000);
    expect(first).toContain(' SANDBOX ');
    expect(first).toContain('training mode');

    const seen = new Set<string>();
    const deadline = Date.now() + 240_000;
    let text = '';
    for (;;) {
      text = await screen();
      if (text.includes('Press enter or q to exit')) break;
      if (Date.now() > deadline) throw new Error(`the drill did not finish; last screen:\n${text}`);
      // A question is open (a highlighted answer or a filled-in typed confirmation): Enter takes it.
      const prompt = /❯ (Yes, run it|Done|Retry|Run the checks again|\S+)/.exec(text);
      if (prompt && /Your turn|Run "|Type .* to confirm|failed/.test(text)) {
        seen.add(prompt[1]);
        await tmux('send-keys', '-t', session, 'Enter');
        await waitForScreen((next) => next !== text, 30_000).catch(() => undefined);
        continue;
      }
      await sleep(250);
    }
    // Wait for the audit trail line (the session closes its log after run-finished).
    text = await waitForScreen((next) => next.includes('audit trail:'), 30_000);
    expect(text).toContain('✓ Run succeeded');
    expect(text).toMatch(/RTO \S+( \S+)? against 15m: met/);
    expect(text).toContain('exit code 0');
    for (const step of ['sandbox', 'backup', 'restore-sandbox', 'restore', 'verify', 'explore', 'teardown']) {
      expect(text).toMatch(new RegExp(`✓ +${step} `));
    }
    expect(seen.has('Done')).toBe(true);

    const coloured = await screen(true);
    expect(coloured).not.toMatch(/\u001b\[(3[0-7]|9[0-7]|38;)/);

    await tmux('send-keys', '-t', session, 'Enter');
    const deadlineExit = Date.now() + 30_000;
    while (!fs.existsSync(exitFile) || !fs.readFileSync(exitFile, 'utf8').trim()) {
      if (Date.now() > deadlineExit) throw new Error(`lifeline did not exit; screen:\n${await screen()}`);
      await sleep(100);
    }
    expect(fs.readFileSync(exitFile, 'utf8').trim()).toBe('0');
    const audits = fs.readdirSync(path.join(home.home, 'state', 'audit')).filter((name) => name.endsWith('.jsonl'));
    expect(audits).toHaveLength(1);
  }, 330_000);
});

async function waitForScreen(predicate: (text: string) => boolean, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await screen();
    if (predicate(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out; last screen:\n${text}`);
    await sleep(100);
  }
}
