#!/usr/bin/env node
// wal-push / wal-fetch run once per WAL file from PostgreSQL: they skip loading the full CLI.
const args = process.argv.slice(2);
const fast = args.includes('wal-push') || args.includes('wal-fetch') || args.includes('wal-prefetch')
  ? await (await import('../dist/cli/commands/wal.js')).walFastPath(args)
  : undefined;
if (fast !== undefined) {
  process.exitCode = fast;
} else {
  // The esbuild bundle (npm run build makes it) starts several times faster; the plain tsc
  // output is the fallback, and LIFELINE_NO_BUNDLE=1 forces it.
  const { existsSync } = await import('node:fs');
  const useBundle = !process.env.LIFELINE_NO_BUNDLE && existsSync(new URL('../dist/bundle/main.js', import.meta.url));
  const load = (name) => import(useBundle ? `../dist/bundle/${name}.js` : `../dist/cli/${name}.js`);
  // No arguments in a terminal: the TUI home, drawn before the rest of the CLI loads.
  const home = args.length === 0 ? await (await load('home')).homeFastPath(process.argv) : undefined;
  process.exitCode = home ?? (await (await load('main')).main(process.argv));
}
