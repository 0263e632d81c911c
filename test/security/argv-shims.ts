import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Wrappers that record the argv of every program lifeline starts, then exec the real one:
 * a shim for each program of a PostgreSQL bin folder (found through LIFELINE_PG_BINDIR) and for
 * some programs found on PATH (zstd, tar). Server programs run as the postgres user, so the
 * folders are world-readable and the log folder world-writable (sticky), like /tmp.
 */
export interface ArgvShims {
  /** Environment for the CLI: LIFELINE_PG_BINDIR and PATH point at the shims. */
  env: Record<string, string>;
  /** Every recorded run: the program's name and its arguments (argv[1..]). */
  calls(): { tool: string; argv: string[] }[];
}

export async function installArgvShims(options: { dir: string; bindir: string; pathTools: string[] }): Promise<ArgvShims> {
  const pgDir = path.join(options.dir, 'pg');
  const pathDir = path.join(options.dir, 'path');
  const logDir = path.join(options.dir, 'argv');
  for (const dir of [options.dir, pgDir, pathDir]) fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.mkdirSync(logDir, { mode: 0o1777 });
  fs.chmodSync(options.dir, 0o755);
  fs.chmodSync(logDir, 0o1777);

  const shim = (folder: string, name: string, real: string) => {
    // One line per argument, NUL-free by construction of argv; the file name says which tool ran.
    const script = `#!/bin/sh
log="${logDir}/${name}.$$.$(date +%s%N)"
for arg in "$@"; do printf '%s\\n' "$arg"; done > "$log" 2>/dev/null
exec '${real}' "$@"
`;
    fs.writeFileSync(path.join(folder, name), script, { mode: 0o755 });
  };
  for (const name of fs.readdirSync(options.bindir)) {
    const real = path.join(options.bindir, name);
    if (fs.statSync(real).isFile()) shim(pgDir, name, real);
  }
  for (const name of options.pathTools) {
    const real = String((await execa('sh', ['-c', `command -v ${name}`])).stdout).trim();
    shim(pathDir, name, real);
  }
  return {
    env: { LIFELINE_PG_BINDIR: pgDir, PATH: `${pathDir}${path.delimiter}${process.env.PATH ?? ''}` },
    calls: () =>
      fs.readdirSync(logDir).map((file) => ({
        tool: file.split('.')[0],
        argv: fs.readFileSync(path.join(logDir, file), 'utf8').split('\n').slice(0, -1),
      })),
  };
}
