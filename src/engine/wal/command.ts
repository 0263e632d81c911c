import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SPOOL_FOLDER, spoolId } from './spool.js';

/**
 * The commands PostgreSQL runs (archive_command, restore_command). The server runs them through
 * /bin/sh with its own environment and working directory (the data directory), so nothing may
 * depend on our PATH, cwd or LIFELINE_* variables: absolute node, absolute bin/lifeline.js, and
 * the repository passed explicitly with --repo.
 */
export function lifelineArgv(): [string, string] {
  // dist/engine/wal/command.js (or src/engine/wal/command.ts under the tests) → <root>/bin/lifeline.js
  const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/lifeline.js');
  return [process.execPath, fs.existsSync(bin) ? fs.realpathSync(bin) : bin];
}

/** Single-quotes for /bin/sh, and doubles % (PostgreSQL's own escape in these commands). */
export function shellWord(word: string): string {
  const quoted = /^[A-Za-z0-9_./:=@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
  return quoted.replace(/%/g, '%%');
}

/** Key files for an encrypted repository: named in the command, since the server does not see our environment. */
export interface CommandKeys {
  keyFile?: string;
  keyringFile?: string;
}

/** `compression` is a --compress value (zstd, zstd:3, lz4, gzip:6, none), already checked. */
export function archiveCommand(options: { repo: string; compression?: string } & CommandKeys): string {
  const words = [...lifelineArgv(), 'wal-push', '--repo', options.repo, ...(options.compression ? ['--compress', options.compression] : []), ...keyArgs(options)];
  return `${words.map(shellWord).join(' ')} %p`;
}

/**
 * wal-fetch, behind a shell test for the read-ahead spool: a segment the prefetcher already
 * fetched and checked (spool.ts) is taken with one `mv`, without starting node, which would cost
 * more than the replay of the segment. Anything else (no spool, not spooled yet, a history
 * file, a failed mv) goes to wal-fetch, which answers as restore_command must.
 */
export function restoreCommand(options: { repo: string } & CommandKeys): string {
  const words = [...lifelineArgv(), 'wal-fetch', '--repo', options.repo, ...keyArgs(options)];
  // The id is taken from the location as wal-fetch resolves it (an absolute path, or the URL).
  const location = options.repo.startsWith('s3://') ? options.repo : path.resolve(options.repo);
  const spooled = `pg_wal/${SPOOL_FOLDER}/${spoolId(location)}/%f`;
  return `if [ -f ${spooled} ] && mv -f ${spooled} %p 2>/dev/null; then exit 0; fi; exec ${words.map(shellWord).join(' ')} %f %p`;
}

function keyArgs(keys: CommandKeys): string[] {
  return [...(keys.keyFile ? ['--key-file', keys.keyFile] : []), ...(keys.keyringFile ? ['--keyring', keys.keyringFile] : [])];
}
