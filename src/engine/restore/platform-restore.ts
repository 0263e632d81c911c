import { execa } from 'execa';
import fs from 'node:fs';
import readline from 'node:readline';
import { finished } from 'node:stream/promises';
import { LifelineError, abortError } from '../../errors.js';
import { toolEnv, type ConnInfo } from '../../postgres/conninfo.js';
import type { PgTool } from '../../postgres/tools.js';
import type { ProgressCallback } from '../progress.js';
import { pipeChild } from '../child-pipe.js';
import { platformEpilogue, platformPrelude, type PlatformPlan } from './platform.js';

/**
 * The in-place restore over a database whose platform owns some schemas, in ONE transaction
 * (one psql session): the application's definitions (dropped and recreated, from
 * pg_restore's pre-data script), then lifeline's prelude (empty the platform tables that are
 * reloaded), then the rows and the post-data objects streamed from a second pg_restore. pg_restore
 * alone cannot run the prelude between the two inside its transaction.
 */
export async function runPlatformRestore(options: {
  staged: string;
  useList: string;
  plan: PlatformPlan;
  pgRestore: PgTool;
  psql: PgTool;
  conn: ConnInfo;
  /** --no-owner for a non-superuser. */
  ownerArgs: string[];
  isSuperuser: boolean;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}): Promise<void> {
  const { signal } = options;
  const base = options.staged.replace(/\.dump$/, '');
  const files = { list: `${base}.list`, preData: `${base}.pre-data.sql`, prelude: `${base}.prelude.sql` };
  try {
    fs.writeFileSync(files.list, options.useList, { mode: 0o600 });
    fs.writeFileSync(files.prelude, platformPrelude(options.plan, options.isSuperuser), { mode: 0o600 });
    const common = [`--use-list=${files.list}`, ...options.ownerArgs];
    const preData = await execa(options.pgRestore.path, ['--section=pre-data', '--clean', '--if-exists', ...common, `--file=${files.preData}`, options.staged], {
      reject: false,
      cancelSignal: signal,
    });
    if (signal?.aborted) throw abortError(signal);
    if (preData.exitCode !== 0) throw new LifelineError('RESTORE_FAILED', `pg_restore failed: ${lastLine(String(preData.stderr))}`);

    const rows = execa(options.pgRestore.path, ['--verbose', '--section=data', '--section=post-data', ...common, '--file=-', options.staged], {
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: { stdout: false, stderr: false },
      cancelSignal: signal,
      reject: false,
    });
    const errors: string[] = [];
    readline.createInterface({ input: rows.stderr! }).on('line', (line) => {
      if (/error|fatal/i.test(line)) errors.push(line.replace(/^pg_restore: (error: )?/, ''));
      const table = /processing data for table "([^"]+)"/.exec(line);
      if (table) options.onProgress?.({ phase: 'restore', message: `restoring ${table[1]}` });
    });
    // BEGIN first and COMMIT only after pg_restore produced the whole script: a script cut short
    // (pg_restore failing half-way) ends psql's input without COMMIT, so the transaction rolls back.
    const psql = execa(
      options.psql.path,
      ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', '--command=BEGIN', `--file=${files.preData}`, `--file=${files.prelude}`, '--file=-'],
      { env: toolEnv(options.conn), extendEnv: false, stdin: 'pipe', stdout: 'ignore', stderr: 'pipe', cancelSignal: signal, reject: false },
    );
    const pipe = pipeChild(rows, psql, { end: false });
    const [generated] = await Promise.all([rows, finished(rows.stdout!).catch(() => undefined)]);
    if (generated.exitCode === 0 && !signal?.aborted) psql.stdin!.end(`\n${platformEpilogue(options.plan)}COMMIT;\n`);
    else psql.stdin!.end();
    const loaded = await psql;
    if (signal?.aborted) throw abortError(signal);
    if (loaded.exitCode !== 0) {
      const error = String(loaded.stderr).split('\n').find((l) => /ERROR:/.test(l)) ?? lastLine(String(loaded.stderr)) ?? `psql exit ${loaded.exitCode}`;
      throw new LifelineError('RESTORE_FAILED', `restore failed: ${error.replace(/^psql:[^:]*:\d+: /, '').replace(/ERROR:\s+/, '')}`, {
        hint: 'The transaction was rolled back: the target is as it was before this step.',
      });
    }
    if (generated.exitCode !== 0 && !pipe.stoppedProducer()) {
      throw new LifelineError('RESTORE_FAILED', `pg_restore failed (exit ${generated.exitCode}${errors.length ? `: ${errors[0]}` : ''}); nothing was committed.`, {
        hint: 'The transaction was rolled back: the target is as it was before this step.',
      });
    }
  } finally {
    for (const file of Object.values(files)) fs.rmSync(file, { force: true });
  }
}

function lastLine(text: string): string | undefined {
  return text.trim().split('\n').filter(Boolean).pop()?.replace(/^pg_restore: (error: )?/, '');
}
