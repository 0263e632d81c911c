// esbuild plugins for Ink in a bundle, shared by scripts/bundle.mjs and bench/first-frame.mjs.
import fs from 'node:fs';

/** Ink imports react-devtools-core only in development; the production bundle never loads it. */
export const noDevtools = {
  name: 'no-devtools',
  setup(b) {
    b.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: 'react-devtools-core', namespace: 'empty' }));
    b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export default {};', loader: 'js' }));
  },
};

/**
 * yoga-layout (Ink's layout engine) loads its embedded wasm through fetch() of a data: URL when a
 * global fetch exists, which loads Node's undici and percent-decodes 120 kB: ~80 ms of every
 * start-up here. Its own synchronous base64 path is used instead.
 */
export const yogaWithoutFetch = {
  name: 'yoga-without-fetch',
  setup(b) {
    b.onLoad({ filter: /yoga-layout[/\\]dist[/\\]binaries[/\\]yoga-wasm-base64-esm\.js$/ }, async (args) => {
      const text = await fs.promises.readFile(args.path, 'utf8');
      const probe = '"function"!=typeof fetch';
      if (!text.includes(probe)) throw new Error(`yoga-layout changed: ${probe} not found in ${args.path}`);
      return { contents: text.replace(probe, 'true'), loader: 'js' };
    });
  },
};
