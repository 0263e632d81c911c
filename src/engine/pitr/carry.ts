import { execa } from 'execa';
import readline from 'node:readline';
import { LifelineError, abortError } from '../../errors.js';
import { connect } from '../../postgres/client.js';
import { dbnameArg, describeConn, toolEnv, withDatabase, type ConnInfo } from '../../postgres/conninfo.js';
import { findTool } from '../../postgres/tools.js';
import { quoteIdent } from '../backup/fingerprint.js';
import { pipeChild } from '../child-pipe.js';
import type { ProgressCallback } from '../progress.js';
import { validateName } from '../../postgres/names.js';

/** Whether `database` exists on the server `conn` points at. */
export async function databaseExists(conn: ConnInfo, database: string, signal?: AbortSignal): Promise<boolean> {
  const client = await connect(withDatabase(conn, maintenanceDb(conn)), { signal });
  try {
    const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    return rows.length > 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function maintenanceDb(conn: ConnInfo): string {
  return conn.database ?? 'postgres';
}

/**
 * Carries one database from the recovered cluster into a NEW database on the target server:
 * CREATE DATABASE, then pg_dump -Fc | pg_restore --single-transaction --exit-on-error, without
 * owners and privileges (the target's roles may differ, managed services forbid superuser
 * things). An existing database is refused; on failure the database we created is dropped.
 */
export async function carryDatabase(options: {
  source: ConnInfo;
  target: ConnInfo;
  into: string;
  major: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}): Promise<{ database: string; url: string }> {
  const { source, target, into, signal } = options;
  validateName(into, 'The new database name');
  const admin = await connect(withDatabase(target, maintenanceDb(target)), { signal });
  try {
    const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [into]);
    if (rows.length) {
      throw new LifelineError('RESTORE_REFUSED', `Database "${into}" already exists on ${describeConn(target)}`, { hint: 'Name a new database for --into.' });
    }
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(into)}`);
    } catch (error) {
      throw new LifelineError('DB_PRIVILEGE', `Cannot create database "${into}": ${(error as Error).message}`, { hint: 'The target role needs CREATEDB.' });
    }
  } finally {
    await admin.end().catch(() => undefined);
  }
  let done = false;
  try {
    const targetServer = await serverMajor(target, signal);
    const pgDump = await findTool('pg_dump', { major: Math.max(options.major, targetServer) });
    const pgRestore = await findTool('pg_restore', { major: targetServer });
    options.onProgress?.({ phase: 'carry', message: `pg_dump ${source.database} (recovered) | pg_restore into ${into}` });
    const dump = execa(pgDump.path, ['--format=custom', '--compress=0', '--no-password'], {
      env: toolEnv(source),
      extendEnv: false,
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: { stdout: false, stderr: true },
      cancelSignal: signal,
      reject: false,
      stdin: 'ignore',
    });
    const restore = execa(pgRestore.path, ['--no-owner', '--no-privileges', '--single-transaction', '--exit-on-error', '--no-password', dbnameArg(into)], {
      env: toolEnv(withDatabase(target, into)),
      extendEnv: false,
      stdin: 'pipe',
      stdout: 'ignore',
      stderr: 'pipe',
      buffer: { stderr: true },
      cancelSignal: signal,
      reject: false,
    });
    const pipe = pipeChild(dump, restore);
    const lines: string[] = [];
    readline.createInterface({ input: restore.stderr! }).on('line', (line) => lines.push(line));
    const [dumped, restored] = await Promise.all([dump, restore]);
    if (signal?.aborted) throw abortError(signal);
    if (dumped.exitCode !== 0 && !pipe.stoppedProducer()) {
      throw new LifelineError('PITR_FAILED', `pg_dump of the recovered "${source.database}" failed: ${String(dumped.stderr).trim().split('\n').pop()}`, {
        hint: 'Does that database exist at the target time? The recovered cluster holds every database of the server.',
      });
    }
    if (restored.exitCode !== 0) {
      throw new LifelineError('PITR_FAILED', `pg_restore into "${into}" failed: ${(lines.find((l) => /error/i.test(l)) ?? lines.at(-1) ?? '').replace(/^pg_restore: (error: )?/, '')}`, {
        hint: `"${into}" was dropped again; nothing else on the target changed.`,
      });
    }
    done = true;
    return { database: into, url: describeConn(withDatabase(target, into)) };
  } finally {
    if (!done) {
      const client = await connect(withDatabase(target, maintenanceDb(target))).catch(() => undefined);
      await client?.query(`DROP DATABASE IF EXISTS ${quoteIdent(into)} WITH (FORCE)`).catch(() => undefined);
      await client?.end().catch(() => undefined);
    }
  }
}

async function serverMajor(conn: ConnInfo, signal?: AbortSignal): Promise<number> {
  const client = await connect(conn, { signal });
  try {
    const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
    return Math.floor(Number(rows[0].v) / 10000);
  } finally {
    await client.end().catch(() => undefined);
  }
}
