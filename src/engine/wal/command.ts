import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HISTORY_COMPLETE, HISTORY_FOLDER, SPOOL_FOLDER, spoolId } from './spool.js';

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
 * wal-fetch, behind shell tests for the read-ahead spool (spool.ts), which answer most of
 * PostgreSQL's calls without starting node, whose start-up costs more than replaying a segment:
 * - a segment the prefetcher already fetched and checked is taken with one `mv`;
 * - a .history file lifeline pitr laid out before the server started is copied (PostgreSQL reads
 *   one several times); once pitr has laid out every history file the repository holds, any other
 *   is answered "not archived" (exit 1) from that listing, as wal-fetch would answer it.
 * Anything else (no spool, a segment not spooled yet, a failed mv or cp) goes to wal-fetch, which
 * answers as restore_command must.
 */
export function restoreCommand(options: { repo: string; readAhead?: number } & CommandKeys): string {
  const words = [...lifelineArgv(), 'wal-fetch', '--repo', options.repo, ...keyArgs(options), ...(options.readAhead === undefined ? [] : ['--read-ahead', String(options.readAhead)])];
  const spool = `pg_wal/${SPOOL_FOLDER}/${spoolId(spoolLocation(options.repo))}`;
  const history = `${spool}/${HISTORY_FOLDER}`;
  return [
    `if [ -f ${spool}/%f ] && mv -f ${spool}/%f %p 2>/dev/null; then exit 0; fi`,
    `case %f in *.history) if [ -f ${history}/%f ]; then cp ${history}/%f %p 2>/dev/null && exit 0; elif [ -f ${history}/${HISTORY_COMPLETE} ]; then exit 1; fi;; esac`,
    `exec ${words.map(shellWord).join(' ')} %f %p`,
  ].join('; ');
}

/** The location a spool is named after: the absolute path of a local repository, or its URL, as wal-fetch resolves it. */
export function spoolLocation(repo: string): string {
  return repo.startsWith('s3://') ? repo : path.resolve(repo);
}

function keyArgs(keys: CommandKeys): string[] {
  return [...(keys.keyFile ? ['--key-file', keys.keyFile] : []), ...(keys.keyringFile ? ['--keyring', keys.keyringFile] : [])];
}
