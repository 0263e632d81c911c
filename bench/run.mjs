// `npm run bench`: every benchmark in one run, figures printed as Markdown tables.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { root } from './lib.mjs';

const only = process.argv.slice(2);
const scripts = fs.readdirSync(path.join(root, 'bench')).filter((f) => f.endsWith('.mjs') && !['run.mjs', 'lib.mjs'].includes(f)).sort();
for (const script of scripts) {
  if (only.length && !only.some((o) => script.includes(o))) continue;
  process.stderr.write(`\n== ${script} ==\n`);
  await execa('node', [path.join(root, 'bench', script)], { stdio: 'inherit' });
}
