import Conf from 'conf';
import fs from 'node:fs';
import { LifelineError } from '../errors.js';
import { configSchema, type Config } from './schema.js';
import { configFile, type LifelinePaths } from './paths.js';
import { ensureDir } from '../fs-util.js';

const CONFIG_NAME = 'config';

/** The conf-backed settings file, validated with zod on every read. */
export function openConfigFile(paths: LifelinePaths): Conf<Record<string, unknown>> {
  ensureDir(paths.config);
  try {
    return new Conf<Record<string, unknown>>({
      cwd: paths.config,
      configName: CONFIG_NAME,
      configFileMode: 0o600,
      projectSuffix: '',
    });
  } catch (error) {
    throw new LifelineError('CONFIG_INVALID', `Cannot read the config file ${configFile(paths)}: ${(error as Error).message.split('\n')[0]}`, {
      hint: 'It must be a JSON object: fix the file, or move it away to start from the defaults.',
    });
  }
}

export function loadConfig(paths: LifelinePaths): Config {
  const conf = openConfigFile(paths);
  const file = conf.path;
  // conf turns a file holding "x" or [1] into {"0": ...}: say what is really wrong.
  const top = topLevelType(file);
  if (top !== 'object' && top !== 'missing') {
    throw new LifelineError('CONFIG_INVALID', `The config file ${file} holds ${top}, not a JSON object.`, {
      hint: 'Fix the file, or move it away to start from the defaults.',
    });
  }
  const raw: unknown = conf.store;
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

function topLevelType(file: string): string {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return 'missing'; // absent, or unreadable JSON: conf has already said which
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'object' : `a ${typeof value}`;
}
