import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { EXIT, LifelineError } from '../../errors.js';
import type { Run } from '../main.js';
import { createOutput, reportError, type Output } from '../output.js';
import { spawn } from 'node:child_process';
import { lifelineArgv } from '../../engine/wal/command.js';
import { parseWalName } from '../../engine/wal/names.js';
import { DEFAULT_READ_AHEAD, followingSegments, prefetcherRunning, segmentSizeOf, spoolDir, takeWhenSpooled } from '../../engine/wal/spool.js';
import { parseCompression } from '../../engine/compress/spec.js';
import { walCompressionFor } from '../../engine/wal/object-format.js';

/*
 * wal-push / wal-fetch run once per WAL file, called by PostgreSQL. bin/lifeline.js sends them
 * here (walFastPath) before loading the rest of the CLI: no commander program, no conf, no zod,
 * no execa, no pg. Everything this file imports at the top must stay that light.
 */

/**
 * restore_command must exit above 125 for PostgreSQL to abort recovery rather than read the
 * failure as "file not in the archive" and end recovery (possibly promoting) early.
 */
export const FETCH_FATAL_EXIT = 126;
/** wal-fetch: the file is truly not in the archive. */
export const FETCH_NOT_FOUND_EXIT = 1;

interface WalFlags {
  repo?: string;
  compress?: string;
  /** The current encryption key's file (archive_command cannot see the operator's environment). */
  keyFile?: string;
  /** A keyring file of older keys. */
  keyring?: string;
  /** wal-fetch: segments to fetch ahead into the spool (0: none). */
  readAhead?: string;
  /** wal-prefetch: the WAL segment size, to name the segments after its first window. */
  segmentSize?: string;
  json?: boolean;
}

export function registerWal(program: Command, run: Run): void {
  program
    .command('wal-push <path>')
    .description('archive one WAL file into the repository (archive_command = \'lifeline wal-push --repo <repo> %p\')')
    .option('--compress <codec[:level]>', 'zstd, lz4, gzip or none, with an optional level (default zstd:3 when installed, else gzip)')
    .option('--key-file <file>', 'encrypt with the key in this file (else LIFELINE_ENCRYPTION_KEY or the configured encryptionKeyFile)')
    .option('--keyring <file>', 'older keys, one a line (to compare with a file archived under an older key)')
    .action(
      run<WalFlags>(async (ctx, flags, [file]) => {
        if (flags.compress !== undefined) parseCompression(flags.compress);
        return walPushCommand({ repo: ctx.repo().url, file, compress: flags.compress, flags, out: ctx.out });
      }),
    );
  program
    .command('wal-fetch <name> <dest>')
    .description(`fetch one WAL file for restore_command; exit 1 only when it is not archived, ${FETCH_FATAL_EXIT} on any other failure (aborts recovery)`)
    .option('--key-file <file>', 'the current encryption key (else LIFELINE_ENCRYPTION_KEY or the configured encryptionKeyFile)')
    .option('--keyring <file>', 'older keys, one a line')
    .option('--read-ahead <segments>', 'fetch this many following segments in the background while recovery replays (0: off)', String(DEFAULT_READ_AHEAD))
    .action(
      run<WalFlags>(async (ctx, flags, [name, dest]) => walFetchCommand({ repo: ctx.repo().url, name, dest, flags, out: ctx.out })),
    );
  program
    .command('wal-prefetch <spool> <names...>', { hidden: true })
    .description('the background read-ahead that wal-fetch starts (not for direct use)')
    .option('--key-file <file>', 'the current encryption key')
    .option('--keyring <file>', 'older keys, one a line')
    .option('--segment-size <bytes>', 'the WAL segment size')
    .action(run<WalFlags>(async (ctx, flags, [spool, ...names]) => walPrefetchCommand({ repo: ctx.repo().url, spool, names: names.flat(), flags })));
}

/**
 * Runs wal-push / wal-fetch when argv names one of them (global options may come first);
 * undefined means "not ours" (or --help), and the full CLI takes over.
 */
export async function walFastPath(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  if (argv.includes('--help') || argv.includes('-h')) return undefined;
  const flags: WalFlags = {};
  const positional: string[] = [];
  const withValue = new Set(['--repo', '--db', '--target', '--compress', '--key-file', '--keyring', '--read-ahead', '--segment-size']);
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      const flag = eq > 0 ? token.slice(0, eq) : token;
      if (withValue.has(flag)) {
        const value = eq > 0 ? token.slice(eq + 1) : argv[++i];
        if (value === undefined) return usage(positional[0], `${flag} needs a value`, flags);
        if (flag === '--repo') flags.repo = value;
        if (flag === '--compress') flags.compress = value;
        if (flag === '--key-file') flags.keyFile = value;
        if (flag === '--keyring') flags.keyring = value;
        if (flag === '--read-ahead') flags.readAhead = value;
        if (flag === '--segment-size') flags.segmentSize = value;
        continue;
      }
      if (flag === '--json') flags.json = true;
      else if (flag !== '--plain') return positional.length ? usage(positional[0], `unknown option ${flag}`, flags) : undefined;
      continue;
    }
    positional.push(token);
  }
  const [command, ...args] = positional;
  if (command !== 'wal-push' && command !== 'wal-fetch' && command !== 'wal-prefetch') return undefined;
  const out = createOutput(Boolean(flags.json));
  let repo: string;
  try {
    repo = resolveRepoLight(flags.repo, env);
  } catch (error) {
    const code = reportError(error, out);
    return command === 'wal-fetch' ? FETCH_FATAL_EXIT : code;
  }
  if (command === 'wal-push') {
    if (args.length !== 1) return usage(command, 'expects exactly one argument: the WAL file path (%p)', flags);
    if (flags.compress !== undefined) {
      try {
        parseCompression(flags.compress);
      } catch (error) {
        return usage(command, `--compress: ${(error as Error).message.replace(/\.$/, '')}`, flags);
      }
    }
    return walPushCommand({ repo, file: args[0], compress: flags.compress, flags, out });
  }
  if (command === 'wal-prefetch') return walPrefetchCommand({ repo, spool: args[0], names: args.slice(1), flags });
  if (args.length !== 2) return usage(command, 'expects two arguments: the WAL file name (%f) and the destination (%p)', flags);
  return walFetchCommand({ repo, name: args[0], dest: args[1], flags, out });
}

function usage(command: string | undefined, message: string, flags: WalFlags): number {
  const out = createOutput(Boolean(flags.json));
  reportError(new LifelineError('USAGE', `${command ?? 'lifeline'}: ${message}.`, { hint: 'See lifeline wal-push --help / lifeline wal-fetch --help.' }), out);
  return command === 'wal-fetch' ? FETCH_FATAL_EXIT : EXIT.usage;
}

/**
 * --repo, else LIFELINE_REPO, else the configured repository.url, else the default: the same
 * order as config/resolve.ts, reading the config file as plain JSON (conf + zod are too heavy
 * here). archive_command and restore_command written by lifeline always pass --repo.
 */
function resolveRepoLight(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const pick = (url: string) => (url.startsWith('s3://') ? url : path.resolve(url));
  if (flag) return pick(flag);
  if (env.LIFELINE_REPO) return pick(env.LIFELINE_REPO);
  const root = env.LIFELINE_HOME ? path.resolve(env.LIFELINE_HOME) : undefined;
  const configDir = root ? path.join(root, 'config') : xdg(env, 'XDG_CONFIG_HOME', '.config');
  const dataDir = root ? path.join(root, 'data') : xdg(env, 'XDG_DATA_HOME', '.local/share');
  const file = path.join(configDir, 'config.json');
  let text: string | undefined;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new LifelineError('CONFIG_INVALID', `Cannot read ${file} to find the repository: ${(error as Error).message}`, {
        hint: 'Pass --repo <repository> explicitly (lifeline archiving setup writes it into archive_command).',
      });
    }
  }
  if (text !== undefined) {
    let url: unknown;
    try {
      url = (JSON.parse(text) as { repository?: { url?: unknown } }).repository?.url;
    } catch (error) {
      throw new LifelineError('CONFIG_INVALID', `${file} is not valid JSON: ${(error as Error).message}`, { hint: 'Pass --repo explicitly, or fix the file.' });
    }
    if (typeof url === 'string' && url) return pick(url);
  }
  return path.join(dataDir, 'repository');
}

function xdg(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const base = env[name] && path.isAbsolute(env[name]!) ? env[name]! : path.join(env.HOME ?? '/', fallback);
  return path.join(base, 'lifeline');
}

/**
 * The store, with the config's storage settings when this OS user can read the config. The
 * server runs these commands as its own user, often with the environment of whoever started it
 * (a LIFELINE_HOME it cannot read): the repository comes from --repo, so defaults then do.
 */
async function openWalStore(repo: string) {
  const [{ openStore }, { readStoreSettings }] = await Promise.all([import('../../storage/open-store.js'), import('../../storage/s3/settings.js')]);
  let settings;
  try {
    settings = readStoreSettings();
  } catch {
    settings = {};
  }
  return openStore(repo, settings);
}

/**
 * The keys: only the files --key-file / --keyring name when either is given (archive_command and
 * restore_command name them: the environment the server passes on may name files its OS user
 * cannot read); else the environment and the config's key files when this OS user can read the
 * config (see openWalStore). A malformed or unreadable key is an error.
 */
async function walKeyring(flags: WalFlags) {
  const { loadKeyring, readKeySettings } = await import('../../storage/crypto/keys.js');
  if (flags.keyFile !== undefined || flags.keyring !== undefined) {
    const absolute = (file: string) => path.resolve(file);
    return loadKeyring({
      env: {},
      settings: { keyFile: flags.keyFile && absolute(flags.keyFile), keyringFile: flags.keyring && absolute(flags.keyring) },
    });
  }
  let settings;
  try {
    settings = readKeySettings();
  } catch {
    settings = {};
  }
  return loadKeyring({ settings });
}

async function walPushCommand(options: { repo: string; file: string; compress?: string; flags: WalFlags; out: Output }): Promise<number> {
  const { out } = options;
  try {
    const { walPush } = await import('../../engine/wal/push.js');
    const store = await openWalStore(options.repo);
    const keyring = await walKeyring(options.flags);
    const choice = options.compress === undefined ? {} : walCompressionFor(parseCompression(options.compress));
    const result = await walPush({ store, keyring, file: options.file, ...choice });
    out.result({ walPush: result });
    return EXIT.ok;
  } catch (error) {
    return reportError(error, out);
  }
}

async function walFetchCommand(options: { repo: string; name: string; dest: string; flags: WalFlags; out: Output }): Promise<number> {
  const { out } = options;
  const readAhead = options.flags.readAhead === undefined ? DEFAULT_READ_AHEAD : Number(options.flags.readAhead);
  if (!Number.isInteger(readAhead) || readAhead < 0 || readAhead > 64) {
    reportError(new LifelineError('USAGE', `--read-ahead must be a whole number from 0 to 64, not "${options.flags.readAhead}".`), out);
    return FETCH_FATAL_EXIT;
  }
  const spool = readAhead > 0 && parseWalName(options.name)?.kind === 'segment' ? spoolDir(options.dest, options.repo) : undefined;
  try {
    if (spool && (await takeWhenSpooled(spool, options.name, options.dest))) {
      out.result({ walFetch: { found: true, name: options.name, from: 'read-ahead' } });
      startPrefetcher(options, spool, readAhead);
      return EXIT.ok;
    }
    const { walFetch } = await import('../../engine/wal/fetch.js');
    const store = await openWalStore(options.repo);
    const keyring = await walKeyring(options.flags);
    const result = await walFetch({
      store,
      keyring,
      name: options.name,
      dest: options.dest,
      onRetry: (error, attempt) => out.note(`lifeline wal-fetch ${options.name}: attempt ${attempt} failed (${error.message}); retrying`),
    });
    out.result({ walFetch: result });
    if (result.found && spool) startPrefetcher(options, spool, readAhead);
    return result.found ? EXIT.ok : FETCH_NOT_FOUND_EXIT;
  } catch (error) {
    reportError(error, out);
    out.note(`lifeline wal-fetch: exiting ${FETCH_FATAL_EXIT} so that PostgreSQL stops recovery instead of ending it early`);
    return FETCH_FATAL_EXIT;
  }
}

/**
 * Starts the read-ahead for the segments after `name` as a detached process (PostgreSQL waits for
 * wal-fetch to exit, not for the prefetcher), unless one already works on this spool.
 */
function startPrefetcher(options: { repo: string; name: string; dest: string; flags: WalFlags }, spool: string, readAhead: number): void {
  if (prefetcherRunning(spool)) return;
  const segmentSize = segmentSizeOf(options.dest);
  const names = followingSegments(options.name, readAhead, segmentSize);
  const keys = [...(options.flags.keyFile ? ['--key-file', path.resolve(options.flags.keyFile)] : []), ...(options.flags.keyring ? ['--keyring', path.resolve(options.flags.keyring)] : [])];
  try {
    spawn(...lifelineArgvSpawn(['wal-prefetch', '--repo', options.repo, ...keys, '--segment-size', String(segmentSize), spool, ...names]), { detached: true, stdio: 'ignore' }).unref();
  } catch {
    // No read-ahead then; every file is still fetched in the foreground.
  }
}

function lifelineArgvSpawn(args: string[]): [string, string[]] {
  const [node, bin] = lifelineArgv();
  return [node, [bin, ...args]];
}

async function walPrefetchCommand(options: { repo: string; spool: string; names: string[]; flags: WalFlags }): Promise<number> {
  try {
    const { prefetch } = await import('../../engine/wal/prefetch.js');
    const store = await openWalStore(options.repo);
    const keyring = await walKeyring(options.flags);
    const segmentSize = options.flags.segmentSize === undefined ? undefined : Number(options.flags.segmentSize);
    await prefetch({ store, keyring, spool: options.spool, names: options.names.filter((name) => parseWalName(name)?.kind === 'segment'), segmentSize });
    return EXIT.ok;
  } catch {
    // Nobody reads a detached prefetcher's output: the foreground wal-fetch reports failures.
    return EXIT.failure;
  }
}
