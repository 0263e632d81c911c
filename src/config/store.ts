import Conf from 'conf';
import { LifelineError } from '../errors.js';
import { configSchema, type Config } from './schema.js';
import type { LifelinePaths } from './paths.js';
import { ensureDir } from '../fs-util.js';

/** The conf-backed settings file, validated with zod on every read. */
export function openConfigFile(paths: LifelinePaths): Conf<Record<string, unknown>> {
  ensureDir(paths.config);
  return new Conf<Record<string, unknown>>({
    cwd: paths.config,
    configName: 'config',
    configFileMode: 0o600,
    projectSuffix: '',
  });
}

export function loadConfig(paths: LifelinePaths): Config {
  let raw: Record<string, unknown>;
  let file = '';
  try {
    const conf = openConfigFile(paths);
    file = conf.path;
    raw = conf.store;
  } catch (error) {
    throw new LifelineError('CONFIG_INVALID', `Cannot read the config file in ${paths.config}: ${(error as Error).message}`, {
      hint: 'Fix or remove the file; `lifeline config path` prints where it is.',
    });
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.join('.') || '(top level)';
    throw new LifelineError('CONFIG_INVALID', `Invalid config at ${where}: ${issue.message} (${file})`, {
      hint: 'Fix it with `lifeline config set <key> <value>` or edit the file.',
    });
  }
  return parsed.data;
}
