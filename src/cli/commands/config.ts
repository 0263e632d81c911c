import type { Command } from 'commander';
import { EXIT, LifelineError } from '../../errors.js';
import type { Run } from '../main.js';
import { redactText } from '../../redact.js';

const SECRET_KEY = /password|secret|key$/i;

export function registerConfig(program: Command, run: Run): void {
  const config = program.command('config').description('show or change settings (validated on every read)');
  config
    .command('path')
    .description('where the config file is')
    .action(
      run(async (ctx) => {
        const { configFile } = await import('../../config/paths.js');
        const file = configFile(ctx.paths);
        ctx.out.result({ path: file });
        ctx.out.line(file);
        return EXIT.ok;
      }),
    );
  config
    .command('get [key]')
    .description('print a setting (dotted key) or the whole config; secrets are masked')
    .action(
      run(async (ctx, _flags, [key]) => {
        if (key) checkKey(key);
        const value = key ? getPath(ctx.config, key) : ctx.config;
        const shown = mask(value, key);
        ctx.out.result({ key: key ?? null, value: shown ?? null });
        ctx.out.line(typeof shown === 'string' ? shown : JSON.stringify(shown, null, 2));
        return EXIT.ok;
      }),
    );
  config
    .command('set <key> <value>')
    .description('set a setting (value parsed as JSON when it is JSON, else a string)')
    .action(
      run(async (ctx, _flags, [key, raw]) => {
        checkKey(key);
        const [{ openConfigFile }, { configSchema }] = await Promise.all([import('../../config/store.js'), import('../../config/schema.js')]);
        let value: unknown = raw;
        try {
          value = JSON.parse(raw);
        } catch {
          // a plain string
        }
        const secret = secretIn(value, key);
        if (secret) {
          throw new LifelineError('USAGE', `lifeline does not store passwords in its config file (${secret}).`, {
            hint: 'Nothing was changed. Set the URL without the password and keep the password in ~/.pgpass or PGPASSWORD, or name a variable with targets.<name>.passwordEnv; S3 uses the AWS credential chain.',
          });
        }
        const conf = openConfigFile(ctx.paths);
        const next = structuredClone(conf.store);
        setPath(next, key, value);
        const parsed = configSchema.safeParse(next);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new LifelineError('CONFIG_INVALID', `Invalid value for ${issue.path.join('.') || key}: ${issue.message}`, {
            hint: 'Nothing was changed. See README.md#configuration for the settings.',
          });
        }
        conf.set(key, value);
        ctx.out.result({ key, value: mask(value, key) });
        ctx.out.line(`${key} set`);
        return EXIT.ok;
      }),
    );
}

/** Dotted keys of plain names: nothing that reaches Object.prototype or an empty segment. */
function checkKey(key: string): void {
  const bad = key.split('.').find((part) => !/^[A-Za-z0-9_-]+$/.test(part) || part === '__proto__' || part === 'constructor' || part === 'prototype');
  if (bad !== undefined) {
    throw new LifelineError('USAGE', `Not a config key: ${JSON.stringify(key)}.`, {
      hint: 'Keys are dotted names such as backup.compression or targets.prod.url (see README.md#configuration).',
    });
  }
}

/** Where a value about to be stored holds a password (a URL with one, password=, a secret-named field). */
function secretIn(value: unknown, key: string): string | undefined {
  if (typeof value === 'string') {
    if (SECRET_KEY.test(key) && !/passwordEnv$/.test(key) && value !== '') return `${key} is a secret`;
    return redactText(value) !== value ? `${key} holds a URL or parameter with a password` : undefined;
  }
  if (Array.isArray(value)) return value.map((item, i) => secretIn(item, `${key}[${i}]`)).find(Boolean);
  if (value && typeof value === 'object') return Object.entries(value).map(([k, v]) => secretIn(v, `${key}.${k}`)).find(Boolean);
  return undefined;
}

function getPath(object: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((value, part) => (value as Record<string, unknown> | undefined)?.[part], object);
}

function setPath(object: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = object;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}

/** Passwords, keys and the password part of URLs never reach the terminal. */
function mask(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (SECRET_KEY.test(key)) return '***';
    return redactText(value);
  }
  if (Array.isArray(value)) return value.map((v) => mask(v, key));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, k)]));
  }
  return value;
}
