#!/usr/bin/env node
// The esbuild bundle (npm run build makes it) starts several times faster; the plain tsc output is
// the fallback, and LIFELINE_NO_BUNDLE=1 forces it.
const { existsSync } = await import('node:fs');
const useBundle = !process.env.LIFELINE_NO_BUNDLE && existsSync(new URL('../dist/bundle/main.js', import.meta.url));
const load = (name, plain) => import(useBundle ? `../dist/bundle/${name}.js` : `../dist/${plain}.js`);
const args = process.argv.slice(2);
// A wait that Node forgets (its last handle closed, its promise never settled) would end the
// process with exit code 0 and the work unfinished. Never let that pass for success.
let finished = false;
process.on('exit', () => {
  if (finished) return;
  process.stderr.write('error: lifeline stopped before its work finished (an internal wait was never answered)\nhint: Do not trust this run: check what it was doing, and report this with the command line.\n');
  process.exitCode = 1;
});
// wal-push / wal-fetch run once per WAL file from PostgreSQL: they skip loading the full CLI.
const fast = args.includes('wal-push') || args.includes('wal-fetch') || args.includes('wal-prefetch')
  ? await (await load('wal', 'cli/commands/wal')).walFastPath(args)
  : undefined;
if (fast !== undefined) {
  finished = true;
  process.exitCode = fast;
} else {
  // No arguments in a terminal: the TUI home, drawn before the rest of the CLI loads.
  const home = args.length === 0 ? await (await load('home', 'cli/home')).homeFastPath(process.argv) : undefined;
  process.exitCode = home ?? (await (await load('main', 'cli/main')).main(process.argv));
  finished = true;
}
