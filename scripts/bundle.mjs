#!/usr/bin/env node
// Bundles the CLI (src/cli/main.ts, and src/cli/home.ts for the TUI home's fast start, and everything it imports, lazily loaded commands as separate
// chunks) into dist/bundle/ with React in production mode: one file read instead of hundreds
// makes the TUI's first frame several times faster (see bench/first-frame.mjs). bin/lifeline.js
// loads dist/bundle/main.js when it exists, else the plain tsc output in dist/cli/.
// Heavy or native-minded packages (pg, the AWS SDK) stay external: Node loads them from
// node_modules only when a command needs them.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { noDevtools, yogaWithoutFetch } from './bundle-plugins.mjs';
import { stringWidthFast } from './string-width-fast.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist', 'bundle');

/**
 * import.meta.url in a bundle is the bundle's URL. Source files that find things relative to
 * themselves (the shipped runbooks, bin/lifeline.js) get the URL their tsc output would have.
 */
const keepModuleUrls = {
  name: 'keep-module-urls',
  setup(b) {
    b.onLoad({ filter: /[/\\]src[/\\].*\.tsx?$/ }, async (args) => {
      const text = await fs.promises.readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const compiled = path.join(root, 'dist', path.relative(path.join(root, 'src'), args.path)).replace(/\.tsx?$/, '.js');
      let relative = path.relative(outdir, compiled).split(path.sep).join('/');
      if (!relative.startsWith('.')) relative = `./${relative}`;
      return {
        contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(relative)}, import.meta.url).href`),
        loader: args.path.endsWith('.tsx') ? 'tsx' : 'ts',
      };
    });
  },
};

await fs.promises.rm(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts', home: 'src/cli/home.ts', wal: 'src/cli/commands/wal.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Flat: every chunk sits in dist/bundle/, so the URL rewrite above holds for all of them.
  chunkNames: '[name]-[hash]',
  define: { 'process.env.NODE_ENV': '"production"' },
  external: ['pg', 'pg-native', 'pg-cloudflare', 'pg-pool', '@aws-sdk/*', '@smithy/*'],
  // CommonJS dependencies (react, ...) call require(); give the ESM chunks one.
  banner: { js: "import { createRequire as __lifelineRequire } from 'node:module'; const require = __lifelineRequire(import.meta.url);" },
  plugins: [keepModuleUrls, noDevtools, yogaWithoutFetch, stringWidthFast],
  legalComments: 'none',
  // Less to parse at start-up; names are kept so an internal error's stack still reads.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  logLevel: 'warning',
  metafile: Boolean(process.env.BUNDLE_METAFILE),
});
if (process.env.BUNDLE_METAFILE) fs.writeFileSync(process.env.BUNDLE_METAFILE, JSON.stringify(result.metafile));
