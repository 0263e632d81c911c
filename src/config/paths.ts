import envPaths from 'env-paths';
import fs from 'node:fs';
import path from 'node:path';

export interface LifelinePaths {
  config: string;
  data: string;
  state: string;
}

/**
 * LIFELINE_HOME puts everything under one folder (tests and scripts stay hermetic);
 * otherwise the platform's conventions (XDG on Linux).
 */
export function lifelinePaths(env: NodeJS.ProcessEnv = process.env): LifelinePaths {
  const home = env.LIFELINE_HOME;
  if (home) {
    const root = path.resolve(home);
    return { config: path.join(root, 'config'), data: path.join(root, 'data'), state: path.join(root, 'state') };
  }
  const paths = envPaths('lifeline', { suffix: '' });
  // env-paths calls XDG_STATE_HOME "log" on Linux.
  return { config: paths.config, data: paths.data, state: paths.log };
}

export const auditDir = (paths: LifelinePaths) => path.join(paths.state, 'audit');
export const runsDir = (paths: LifelinePaths) => path.join(paths.state, 'runs');
export const defaultRepoDir = (paths: LifelinePaths) => path.join(paths.data, 'repository');
export const sandboxRoot = (paths: LifelinePaths) => path.join(paths.data, 'sandbox');

/** The settings file conf keeps in the config folder. */
export const configFile = (paths: LifelinePaths) => path.join(paths.config, 'config.json');

/**
 * A top-level setting as the config file states it, read without conf or the schema: only for
 * what the TUI draws in its first frame, before the validated config has loaded behind it.
 */
export function peekSetting(paths: LifelinePaths, key: string): unknown {
  try {
    const settings: unknown = JSON.parse(fs.readFileSync(configFile(paths), 'utf8'));
    return settings && typeof settings === 'object' && !Array.isArray(settings) ? (settings as Record<string, unknown>)[key] : undefined;
  } catch {
    return undefined;
  }
}
