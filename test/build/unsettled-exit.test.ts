import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';

/*
 * If a command's work never settles and Node runs out of things to wait for (the bug behind a
 * `pitr --into` that ended with exit 0 after Ctrl-C), bin/lifeline.js must not exit 0: it says
 * the work did not finish and exits 1. A module hook swaps the CLI's main for one that never
 * settles, so the real bin script runs against it.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-unsettled-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('a command whose work never settles exits 1 with an error, never 0', async () => {
  const hooks = path.join(dir, 'hooks.mjs');
  fs.writeFileSync(
    hooks,
    `export async function resolve(specifier, context, next) {
       if (/dist\\/(bundle|cli)\\/main\\.js$/.test(specifier)) return { url: 'data:text/javascript,export const main = () => new Promise(() => {})', shortCircuit: true };
       return next(specifier, context);
     }`,
  );
  const preload = path.join(dir, 'preload.mjs');
  fs.writeFileSync(preload, `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(hooks).href)});`);
  const result = await execa(process.execPath, ['--import', pathToFileURL(preload).href, 'bin/lifeline.js', 'list'], { reject: false });
  expect(result.exitCode, result.stderr).toBe(1);
  expect(result.stderr).toMatch(/^error: lifeline stopped before its work finished/m);
  expect(result.stderr).toMatch(/^hint: /m);
});
