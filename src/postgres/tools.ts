import fs from 'node:fs';
import path from 'node:path';
import { LifelineError } from '../errors.js';

export type PgToolName =
  | 'pg_dump'
  | 'pg_restore'
  | 'psql'
  | 'pg_basebackup'
  | 'initdb'
  | 'pg_ctl'
  | 'pg_verifybackup'
  | 'pg_waldump'
  | 'pg_controldata'
  | 'pg_dumpall'
  | 'postgres';

export interface ToolVersion {
  /** As printed, e.g. "pg_dump (PostgreSQL) 15.8 (Debian 15.8-1.pgdg120+1)". */
  text: string;
  /** "15.8", "16beta2", "9.6.24". */
  number: string;
  major: number;
  minor: number;
}

export interface PgTool {
  name: PgToolName;
  path: string;
  bindir: string;
  version: ToolVersion;
}

export interface FindToolOptions {
  /** The server's major version. Older tools are refused; without it the newest tool wins. */
  major?: number;
  /**
   * Only this exact major will do (initdb, pg_ctl, postgres, pg_controldata and pg_waldump must
   * match the data directory's version).
   */
  exact?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Tools shipped with the server package rather than the client package. */
const SERVER_TOOLS = new Set<PgToolName>(['initdb', 'pg_ctl', 'pg_controldata', 'pg_waldump', 'postgres']);

/**
 * Parses `--version` output: "pg_dump (PostgreSQL) 15.8 (Debian ...)", "postgres (PostgreSQL) 16beta2",
 * "psql (PostgreSQL) 9.6.24". Before 10 the major has two parts (9.6); we keep the first (9).
 */
export function parseToolVersion(output: string): ToolVersion | undefined {
  const text = output.trim().split('\n')[0]?.trim() ?? '';
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?([a-z]+\d*)?/i.exec(text);
  if (!match) return undefined;
  const first = Number(match[1]);
  const second = match[2] === undefined ? 0 : Number(match[2]);
  const number = text.slice(match.index).replace(/^\(PostgreSQL\)\s+/i, '').split(/\s/)[0];
  if (first < 10) return { text, number, major: first, minor: Number(match[3] ?? 0) };
  return { text, number, major: first, minor: second };
}

/** Installed PostgreSQL majors under a versioned layout, newest first. */
function installedMajors(root: string, pattern: RegExp): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  return names
    .map((name) => pattern.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .filter((n) => Number.isInteger(n))
    .sort((a, b) => b - a);
}

/**
 * Folders to look in, best first. With LIFELINE_PG_BINDIR set (a folder or a PATH-like list) only
 * those are searched: tests use it to simulate old or missing tools, operators to pin a version.
 */
export function candidateBinDirs(options: { major?: number; env?: NodeJS.ProcessEnv; pgConfigBindir?: string } = {}): string[] {
  const env = options.env ?? process.env;
  if (env.LIFELINE_PG_BINDIR) return unique(env.LIFELINE_PG_BINDIR.split(path.delimiter).filter(Boolean));
  const dirs: string[] = [];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) if (dir) dirs.push(dir);
  if (options.pgConfigBindir) dirs.push(options.pgConfigBindir);
  const versioned = (major: number) => [
    `/usr/lib/postgresql/${major}/bin`,
    `/usr/pgsql-${major}/bin`,
    `/opt/homebrew/opt/postgresql@${major}/bin`,
    `/usr/local/opt/postgresql@${major}/bin`,
    `/Applications/Postgres.app/Contents/Versions/${major}/bin`,
  ];
  if (options.major !== undefined) dirs.push(...versioned(options.major));
  const majors = unique([
    ...installedMajors('/usr/lib/postgresql', /^(\d+)$/),
    ...installedMajors('/usr', /^pgsql-(\d+)$/),
    ...installedMajors('/opt/homebrew/opt', /^postgresql@(\d+)$/),
    ...installedMajors('/usr/local/opt', /^postgresql@(\d+)$/),
    ...installedMajors('/Applications/Postgres.app/Contents/Versions', /^(\d+)$/),
  ]).sort((a, b) => b - a);
  for (const major of majors) dirs.push(...versioned(major));
  dirs.push('/Applications/Postgres.app/Contents/Versions/latest/bin');
  return unique(dirs);
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Debian's /usr/bin/pg_dump is pg_wrapper, which picks a version by its own rules (clusters,
 * ~/.postgresqlrc) at run time, so the version it reports need not be the one that runs. Skip it:
 * the real binaries are found under /usr/lib/postgresql/<major>/bin anyway.
 */
function isDebianWrapper(file: string): boolean {
  try {
    return path.basename(fs.realpathSync(file)) === 'pg_wrapper';
  } catch {
    return false;
  }
}

const versionMemo = new Map<string, Promise<ToolVersion | undefined>>();
const toolMemo = new Map<string, Promise<PgTool>>();
const pgConfigMemo = new Map<string, Promise<string | undefined>>();

async function probeVersion(file: string): Promise<ToolVersion | undefined> {
  let pending = versionMemo.get(file);
  if (!pending) {
    pending = (async () => {
      // execa loads lazily: CLI start-up stays fast for commands that never run a tool.
      const { execa } = await import('execa');
      const result = await execa(file, ['--version'], { reject: false, timeout: 10_000, stdin: 'ignore' });
      return result.exitCode === 0 ? parseToolVersion(String(result.stdout)) : undefined;
    })();
    versionMemo.set(file, pending);
  }
  return pending;
}

async function pgConfigBindir(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const key = env.PATH ?? '';
  let pending = pgConfigMemo.get(key);
  if (!pending) {
    pending = (async () => {
      for (const dir of key.split(path.delimiter)) {
        const file = path.join(dir || '.', 'pg_config');
        if (!dir || !executable(file)) continue;
        const { execa } = await import('execa');
        const result = await execa(file, ['--bindir'], { reject: false, timeout: 10_000, stdin: 'ignore' });
        const bindir = String(result.stdout).trim();
        return result.exitCode === 0 && bindir ? bindir : undefined;
      }
      return undefined;
    })();
    pgConfigMemo.set(key, pending);
  }
  return pending;
}

/**
 * Finds a PostgreSQL client or server program fit for a server of `options.major`. An exact
 * major match wins; otherwise the newest newer tool (pg_dump and friends read older servers);
 * a tool older than the server is refused with TOOL_TOO_OLD. Results are cached per process.
 */
export async function findTool(name: PgToolName, options: FindToolOptions = {}): Promise<PgTool> {
  const env = options.env ?? process.env;
  const exact = options.exact ?? false;
  const key = JSON.stringify([name, options.major ?? null, exact, env.LIFELINE_PG_BINDIR ?? '', env.PATH ?? '']);
  let pending = toolMemo.get(key);
  if (!pending) {
    pending = locate(name, options.major, exact, env);
    toolMemo.set(key, pending);
    // A failure is not cached: the operator may install the tool and retry in the same process (TUI).
    pending.catch(() => toolMemo.delete(key));
  }
  return pending;
}

async function locate(name: PgToolName, major: number | undefined, exact: boolean, env: NodeJS.ProcessEnv): Promise<PgTool> {
  const override = Boolean(env.LIFELINE_PG_BINDIR);
  const dirs = candidateBinDirs({ major, env, pgConfigBindir: override ? undefined : await pgConfigBindir(env) });
  const found: PgTool[] = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    const file = path.join(dir, name);
    if (!executable(file) || (!override && isDebianWrapper(file))) continue;
    let real = file;
    try {
      real = fs.realpathSync(file);
    } catch {
      // keep the name as found
    }
    if (seen.has(real)) continue;
    seen.add(real);
    const version = await probeVersion(file);
    if (!version) continue;
    const tool: PgTool = { name, path: file, bindir: dir, version };
    if (major !== undefined && version.major === major) return tool;
    found.push(tool);
  }
  if (found.length === 0) {
    throw new LifelineError('TOOL_MISSING', `${name} was not found${major ? ` (PostgreSQL ${major} needed)` : ''}.`, {
      hint: `${installHint(name, major)}${override ? ` (only LIFELINE_PG_BINDIR=${env.LIFELINE_PG_BINDIR} was searched)` : ''}`,
    });
  }
  const newest = [...found].sort((a, b) => b.version.major - a.version.major || b.version.minor - a.version.minor)[0];
  if (major === undefined) return newest;
  if (!exact && newest.version.major > major) return newest;
  if (exact) {
    throw new LifelineError('TOOL_MISSING', `${name} ${major} was not found (found ${describeFound(found)}).`, {
      hint: installHint(name, major),
    });
  }
  throw new LifelineError(
    'TOOL_TOO_OLD',
    `${name} ${newest.version.number} (${newest.path}) is older than the PostgreSQL ${major} server.`,
    { hint: installHint(name, major) },
  );
}

function describeFound(found: PgTool[]): string {
  return found.map((tool) => `${tool.version.number} in ${tool.bindir}`).join(', ');
}

/** Names the package to install for this platform. */
export function installHint(name: PgToolName, major?: number): string {
  const v = major ?? 'N';
  const server = SERVER_TOOLS.has(name);
  if (process.platform === 'darwin') return `Install it: brew install postgresql@${v} (or Postgres.app), or set LIFELINE_PG_BINDIR.`;
  if (fs.existsSync('/etc/debian_version')) {
    return `Install it: apt-get install ${server ? `postgresql-${v}` : `postgresql-client-${v}`} (PGDG apt repository for the newest versions), or set LIFELINE_PG_BINDIR.`;
  }
  if (fs.existsSync('/etc/redhat-release')) {
    return `Install it: dnf install postgresql${v}${server ? '-server' : ''} (PGDG repository), or set LIFELINE_PG_BINDIR.`;
  }
  if (fs.existsSync('/etc/alpine-release')) return `Install it: apk add postgresql${v}${server ? '' : '-client'}, or set LIFELINE_PG_BINDIR.`;
  return `Install the PostgreSQL ${v} ${server ? 'server' : 'client'} package, or set LIFELINE_PG_BINDIR to its bin folder.`;
}
