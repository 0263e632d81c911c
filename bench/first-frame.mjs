#!/usr/bin/env node
// Time to the first frame of the TUI home screen (`lifeline` with no arguments in a terminal),
// against `node -e 0` in the same run. Both run under `script`, which gives the process a
// pseudo-terminal on stdin and stdout (the TUI only starts on a terminal); the pty costs the same
// in both. The floor is a minimal Ink app (one line of text, then exit) bundled the way lifeline
// is: what any Ink TUI pays on this machine before drawing anything of its own.
// Usage: npm run build && node bench/first-frame.mjs [runs]
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { noDevtools, yogaWithoutFetch } from '../scripts/bundle-plugins.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'lifeline.js');
const runs = Number(process.argv[2] ?? 10);
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-first-frame-'));
const env = { ...process.env, LIFELINE_HOME: home, TERM: 'xterm-256color', COLUMNS: '120', LINES: '40' };
delete env.CI;

const floorApp = path.join(home, 'floor.mjs');
fs.writeFileSync(
  path.join(home, 'floor-src.mjs'),
  "import React from 'react'; import { render, Text, useApp } from 'ink';\n" +
    "function App() { const { exit } = useApp(); React.useEffect(() => { setTimeout(exit, 0); }, []); return React.createElement(Text, null, 'lifeline · floor'); }\n" +
    'render(React.createElement(App));\n',
);
await build({
  absWorkingDir: root,
  entryPoints: [path.join(home, 'floor-src.mjs')],
  nodePaths: [path.join(root, 'node_modules')],
  outfile: floorApp,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  define: { 'process.env.NODE_ENV': '"production"' },
  banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" },
  plugins: [noDevtools, yogaWithoutFetch],
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});

/** Runs `command` in a pty; resolves with ms until each marker appeared in the output, and until exit. */
function timed(command, markers, { quitAfter } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    const seen = {};
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out; output so far:\n${output}`));
    }, 20_000);
    child.stdout.on('data', (chunk) => {
      output += chunk.toString('utf8');
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      for (const [name, text] of Object.entries(markers)) if (seen[name] === undefined && output.includes(text)) seen[name] = ms;
      if (quitAfter && seen[quitAfter] !== undefined && !child.quitting) {
        child.quitting = true;
        child.stdin.write('q');
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve({ ...seen, exit: Number(process.hrtime.bigint() - started) / 1e6 });
    });
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

const baseline = [];
const floor = [];
const firstFrame = [];
const homeReady = [];
const unbundled = [];
// One warm-up of each (file system cache), not counted.
await timed(`${JSON.stringify(process.execPath)} -e 0`, {});
await timed(`${JSON.stringify(process.execPath)} ${JSON.stringify(bin)}`, { home: 'What do you need?', ready: 'Recovery drill' }, { quitAfter: 'ready' });
for (let i = 0; i < runs; i++) {
  baseline.push((await timed(`${JSON.stringify(process.execPath)} -e 0`, {})).exit);
  floor.push((await timed(`${JSON.stringify(process.execPath)} ${JSON.stringify(floorApp)}`, { first: 'lifeline · floor' })).first);
  const tui = await timed(`${JSON.stringify(process.execPath)} ${JSON.stringify(bin)}`, { first: 'lifeline ·', ready: 'Recovery drill' }, { quitAfter: 'ready' });
  firstFrame.push(tui.first);
  homeReady.push(tui.ready);
  // The same without the esbuild bundle (plain tsc output from node_modules, React in development).
  unbundled.push((await timed(`env LIFELINE_NO_BUNDLE=1 ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)}`, { first: 'lifeline ·', ready: 'Recovery drill' }, { quitAfter: 'ready' })).first);
}
fs.rmSync(home, { recursive: true, force: true });

const result = {
  runs,
  baselineMs: Math.round(median(baseline)),
  floorMs: Math.round(median(floor)),
  firstFrameMs: Math.round(median(firstFrame)),
  homeReadyMs: Math.round(median(homeReady)),
  firstFrameOverBaselineMs: Math.round(median(firstFrame) - median(baseline)),
  unbundledFirstFrameMs: Math.round(median(unbundled)),
  goalMs: 200,
};
result.goalMet = result.firstFrameMs <= result.goalMs;
console.log(`node -e 0                      ${result.baselineMs} ms (median of ${runs})`);
console.log(`minimal bundled Ink app         ${result.floorMs} ms (+${result.floorMs - result.baselineMs} ms over node -e 0)`);
console.log(`lifeline: first frame of home  ${result.firstFrameMs} ms (+${result.firstFrameOverBaselineMs} ms over node -e 0)  goal <= ${result.goalMs} ms: ${result.goalMet ? 'met' : 'MISSED'}`);
console.log(`lifeline: home with runbooks   ${result.homeReadyMs} ms`);
console.log(`without the bundle: first frame ${result.unbundledFirstFrameMs} ms`);
if (process.argv.includes('--json')) console.log(JSON.stringify(result));
