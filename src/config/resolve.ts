import path from 'node:path';
import { LifelineError } from '../errors.js';
import { parseConnectionUrl, type ConnInfo } from '../postgres/conninfo.js';
import { validateName } from '../postgres/names.js';
import { defaultRepoDir, type LifelinePaths } from './paths.js';
import type { Config, TargetConfig } from './schema.js';

export interface TargetFlags {
  db?: string;
  target?: string;
}

/** Which database a command works on, and why that one (shown to the operator). */
export type ResolvedTarget =
  | { kind: 'sandbox'; name: 'sandbox'; source: string }
  | { kind: 'database'; name: string; conn: ConnInfo; source: string; /** A configured target's settings (preset, scope). */ settings?: TargetConfig };

const LIBPQ_NAMING_VARS = ['PGHOST', 'PGDATABASE', 'PGSERVICE'] as const;

export function resolveTarget(config: Config, flags: TargetFlags, env: NodeJS.ProcessEnv = process.env): ResolvedTarget {
  if (flags.db) return { kind: 'database', name: 'db', conn: parseConnectionUrl(flags.db), source: '--db' };
  if (flags.target) {
    if (flags.target === 'sandbox') return { kind: 'sandbox', name: 'sandbox', source: '--target sandbox' };
    return configuredTarget(config, flags.target, '--target', env);
  }
  if (env.LIFELINE_DB) {
    return { kind: 'database', name: 'LIFELINE_DB', conn: parseConnectionUrl(env.LIFELINE_DB), source: 'LIFELINE_DB' };
  }
  const names = Object.keys(config.targets);
  if (config.defaultTarget) return configuredTarget(config, config.defaultTarget, 'config defaultTarget', env);
  if (names.length === 1) return configuredTarget(config, names[0], 'config', env);
  if (names.length > 1) {
    throw new LifelineError('USAGE', `Several targets are configured (${names.join(', ')}) and none is the default.`, {
      hint: 'Pass --target <name>, or `lifeline config set defaultTarget <name>`.',
    });
  }
  if (LIBPQ_NAMING_VARS.some((name) => env[name])) {
    return { kind: 'database', name: 'libpq', conn: { params: {} }, source: 'PG* environment' };
  }
  return { kind: 'sandbox', name: 'sandbox', source: 'nothing configured' };
}

function configuredTarget(config: Config, name: string, source: string, env: NodeJS.ProcessEnv): ResolvedTarget {
  const target = Object.hasOwn(config.targets, name) ? config.targets[name] : undefined;
  if (!target) {
    const known = Object.keys(config.targets);
    throw new LifelineError('USAGE', `Unknown target ${JSON.stringify(name)}.`, {
      hint: known.length ? `Configured targets: ${known.join(', ')}.` : 'No targets are configured yet.',
    });
  }
  return { kind: 'database', name, conn: targetConn(target, env), source: `${source} (${name})`, settings: target };
}

export function targetConn(target: TargetConfig, env: NodeJS.ProcessEnv = process.env): ConnInfo {
  const conn: ConnInfo = target.url ? parseConnectionUrl(target.url) : { params: {} };
  if (target.host) conn.host = target.host;
  if (target.port) conn.port = target.port;
  if (target.database) conn.database = validateName(target.database, 'The target\'s database name');
  if (target.user) conn.user = validateName(target.user, 'The target\'s user name');
  if (target.sslmode) conn.params.sslmode = target.sslmode;
  if (target.passwordEnv) {
    const password = env[target.passwordEnv];
    if (password === undefined) {
      throw new LifelineError('CONFIG_INVALID', `The target's passwordEnv names ${target.passwordEnv}, which is not set.`, {
        hint: `Export ${target.passwordEnv} or remove passwordEnv from the target.`,
      });
    }
    conn.password = password;
  }
  return conn;
}

export interface RepoLocation {
  /** A local directory (absolute) or an s3:// URL. */
  url: string;
  source: string;
}

export function resolveRepo(config: Config, paths: LifelinePaths, flag?: string, env: NodeJS.ProcessEnv = process.env): RepoLocation {
  const pick = (url: string, source: string): RepoLocation => ({
    url: url.startsWith('s3://') ? url : path.resolve(url),
    source,
  });
  if (flag) return pick(flag, '--repo');
  if (env.LIFELINE_REPO) return pick(env.LIFELINE_REPO, 'LIFELINE_REPO');
  if (config.repository.url) return pick(config.repository.url, 'config');
  return pick(defaultRepoDir(paths), 'default');
}
