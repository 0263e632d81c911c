// What drawing progress costs a backup: the same one-step runbook (a logical backup, no verify)
// run headless (`--json`: no renderer), with the plain renderer (`--plain`) and in the Ink TUI in
// a real pseudo-terminal (tmux), interleaved. The figure is the backup step's own duration from
// each run's audit trail, so start-up and the summary screen do not count.
// Usage: node bench/render.mjs   (BENCH_RENDER_MB=512 BENCH_REPEAT=5; the TUI run needs tmux)
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchCluster, cli, randomTextDatabase, ratio } from './lib.mjs';
import { describeConn } from '../dist/postgres/conninfo.js';

const mb = Number(process.env.BENCH_RENDER_MB ?? 512);
const repeat = Math.max(1, Number(process.env.BENCH_REPEAT ?? 5));
const hasTmux = await execa('tmux', ['-V']).then(() => true, () => false);
const socket = `lifeline-bench-render-${process.pid}`;

const bench = await benchCluster();
const durations = { json: [], plain: [], tui: [] };
try {
  process.stderr.write(`building a ${mb} MB random-text database...\n`);
  const { conn } = await randomTextDatabase(bench.cluster, 'bench_render', mb);
  const url = describeConn(conn);
  const home = path.join(bench.dir, 'home');
  const runbook = path.join(bench.dir, 'backup-only.yaml');
  fs.writeFileSync(
    runbook,
    ['id: backup-only', 'title: One backup', 'kind: routine', 'steps:', '  - id: backup', '    title: Back up', '    action: backup', '    with: { label: manual, reason: bench, verify: none }', ''].join('\n'),
  );
  const env = { ...process.env, LIFELINE_HOME: home, NO_COLOR: '1', LIFELINE_OPERATOR: 'bench' };
  const args = ['--db', url, 'run', runbook, '--yes'];

  const modes = {
    json: () => execa('node', [cli, '--json', ...args], { env }),
    plain: () => execa('node', [cli, ...args, '--plain'], { env }),
    async tui() {
      const done = path.join(bench.dir, 'tui-exit');
      fs.rmSync(done, { force: true });
      const vars = Object.entries(env).filter(([k]) => ['LIFELINE_HOME', 'NO_COLOR', 'LIFELINE_OPERATOR', 'PATH'].includes(k));
      const command = `env -u CI ${vars.map(([k, v]) => `${k}='${v}'`).join(' ')} '${process.execPath}' '${cli}' ${args.map((a) => `'${a}'`).join(' ')}; echo $? > '${done}'`;
      await execa('tmux', ['-L', socket, 'new-session', '-d', '-s', 'render', '-x', '120', '-y', '40', command]);
      // The summary screen waits for a key: press one until the run has exited.
      while (!fs.existsSync(done)) {
        const screen = (await execa('tmux', ['-L', socket, 'capture-pane', '-p', '-t', 'render'], { reject: false })).stdout;
        if (screen.includes('Press enter or q to exit')) await execa('tmux', ['-L', socket, 'send-keys', '-t', 'render', 'Enter'], { reject: false });
        await sleep(200);
      }
      if (fs.readFileSync(done, 'utf8').trim() !== '0') throw new Error('the TUI run failed');
    },
  };
  for (let i = 0; i < repeat; i++) {
    for (const mode of ['json', 'plain', 'tui']) {
      if (mode === 'tui' && !hasTmux) continue;
      process.stderr.write(`run ${i + 1}/${repeat}: ${mode}\n`);
      await modes[mode]();
      durations[mode].push(backupStepSeconds(home));
      fs.rmSync(path.join(home, 'data', 'repository', 'backups'), { recursive: true, force: true });
    }
  }
} finally {
  await execa('tmux', ['-L', socket, 'kill-server'], { reject: false });
  await bench.cleanup();
}

/** The backup step's duration in the newest audit trail under `home`. */
function backupStepSeconds(home) {
  const trails = fs.readdirSync(home, { recursive: true }).filter((f) => /audit\/[^/]+\.jsonl$/.test(f)).map((f) => path.join(home, f));
  const newest = trails.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
  const finished = fs.readFileSync(newest, 'utf8').trim().split('\n').map((line) => JSON.parse(line)).find((e) => e.kind === 'step-finished' && e.step === 'backup');
  if (!finished) throw new Error(`no finished backup step in ${newest}`);
  return finished.data.durationMs / 1000;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const base = median(durations.json);
console.log(`\n### Progress rendering during a ${mb} MB logical backup (backup step's duration from the audit trail, median of ${repeat} interleaved runs)\n`);
console.log('| renderer | backup step s (median) | runs | vs headless |');
console.log('|---|---:|---|---:|');
for (const [mode, label] of [['json', 'none (--json)'], ['plain', 'plain (--plain)'], ['tui', 'Ink TUI in tmux']]) {
  if (!durations[mode].length) continue;
  console.log(`| ${label} | ${median(durations[mode]).toFixed(2)} | ${durations[mode].map((d) => d.toFixed(2)).join(', ')} | ${ratio(median(durations[mode]), base)} |`);
}
