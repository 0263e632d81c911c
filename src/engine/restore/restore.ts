import fs from 'node:fs';
import path from 'node:path';
import { LifelineError, isLifelineError, throwIfAborted } from '../../errors.js';
import { dbnameArg, withDatabase, type ConnInfo } from '../../postgres/conninfo.js';
import { connect } from '../../postgres/client.js';
import { findTool, type PgTool } from '../../postgres/tools.js';
import type { Manifest } from '../../storage/manifest.js';
import type { Repository } from '../../storage/repository.js';
import { quoteIdent, type TableRef } from '../backup/fingerprint.js';
import { checkIntegrity } from '../verify/integrity.js';
import { checkConsistency } from '../verify/consistency.js';
import type { VerifyCheck } from '../verify/types.js';
import type { ProgressCallback } from '../progress.js';
import { runPgRestore } from './pg-restore.js';
import type { StreamedObject } from './stream-dump.js';
import { preflight, type Preflight } from './preflight.js';
import { carryOverDatabaseSettings } from './database-settings.js';
import { OTHER_CLIENT_SESSION } from '../maintenance/sessions.js';
import { validateName } from '../../postgres/names.js';
import { lockRestoreTarget } from './target-lock.js';
import { planContents, type ContentsPlan } from './contents.js';
import { createExtensions } from './extensions.js';
import { runPlatformRestore } from './platform-restore.js';
import { readToc } from './toc.js';
import { dumpFormat, stagingShortfall, withStagedDump } from './stage.js';
import { withLocalCopies } from './local-copies.js';
import { makeScratchDir } from '../scratch.js';

export type RestoreMode = 'swap' | 'in-place' | 'into';

export interface RestoreOptions {
  repo: Repository;
  manifest: Manifest;
  /** The live target; its database is the one restored (or the server for `into`). */
  conn: ConnInfo;
  mode: RestoreMode;
  /** Side database for mode `into`; must not exist. */
  into?: string;
  tables?: TableRef[];
  schemas?: string[];
  /** pg_restore -j; above 1 (or for a directory-format backup) the dump is staged on local disk first. */
  jobs?: number;
  stagingDir: string;
  dryRun?: boolean;
  /** In-place mode: takes the safety backup of the live database; returns its id. */
  safetyBackup?: () => Promise<string>;
  /** Called after the checks and before the first change (typed confirmation); throw to cancel. */
  confirm?: (plan: { plan: string[]; preflight: Preflight; database: string; keptAs?: string }) => Promise<void>;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  now?: () => Date;
}

export interface RestoreResult {
  mode: RestoreMode;
  database: string;
  /** The previous live database, kept under this name (swap mode). */
  keptAs?: string;
  safetyBackupId?: string;
  checks: VerifyCheck[];
  preflight: Preflight;
  plan: string[];
  dryRun: boolean;
  /** Extensions created first, platform tables loaded data-only, entries left out (and why). */
  contents?: ContentsPlan;
}

const stamp = (date: Date) => date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'z').replace('T', 't').toLowerCase();

/**
 * Restores a logical backup. The default never harms the live database before the new copy is
 * proven: restore into a new database, verify it against the manifest, then swap names in one
 * short transaction, keeping the old database as <db>__pre_restore_<time>.
 */
export function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  // A restore that stages the dump waits for its download; from S3 the integrity check's download
  // is kept on local disk for it instead. A streamed restore downloads while pg_restore works,
  // which costs it little: measured, a local copy made it slower.
  if (!stagesDump(options)) return restoreFrom(options);
  return withLocalCopies({ repo: options.repo, manifest: options.manifest, workDir: options.stagingDir, onProgress: options.onProgress }, (repo) => restoreFrom({ ...options, repo }));
}

/** pg_restore -j and a directory dump need the dump on local disk (in one transaction, -j is off). */
function stagesDump(options: RestoreOptions): boolean {
  return dumpFormat(options.manifest) === 'directory' || ((options.jobs ?? 1) > 1 && options.mode !== 'in-place');
}

async function restoreFrom(options: RestoreOptions): Promise<RestoreResult> {
  const { repo, manifest, signal, onProgress } = options;
  const now = (options.now ?? (() => new Date()))();
  if (manifest.kind !== 'logical') {
    throw new LifelineError('RESTORE_REFUSED', `Backup ${manifest.id} is a base backup.`, { hint: 'Restore base backups with `lifeline pitr`.' });
  }
  const live = options.conn.database ?? process.env.PGDATABASE;
  if (!live && options.mode !== 'into') throw new LifelineError('USAGE', 'The target names no database to restore.', { hint: 'Name it in --db, e.g. postgresql://host/shop.' });
  if (options.mode === 'into') validateName(options.into ?? '', 'The new database name');
  const partial = Boolean(options.tables?.length || options.schemas?.length);
  if (partial && options.mode !== 'into') {
    throw new LifelineError('USAGE', '--table/--schema restore into a side database only.', { hint: 'Add --into <new-db>; the live database stays untouched.' });
  }
  const database = options.mode === 'into' ? options.into! : options.mode === 'in-place' ? live! : `${live}__restore_${stamp(now)}`.slice(0, 63);
  const keptAs = options.mode === 'swap' ? `${live}__pre_restore_${stamp(now)}`.slice(0, 63) : undefined;
  repo.assertCanDecrypt(manifest);

  onProgress?.({ phase: 'integrity', message: `checking backup ${manifest.id} before touching anything` });
  const integrity = await checkIntegrity({ repo, manifest, signal, onProgress });
  const broken = integrity.filter((c) => !c.ok);
  if (broken.length) {
    throw new LifelineError('RESTORE_REFUSED', `Backup ${manifest.id} failed its integrity check: ${broken[0].name}: ${broken[0].detail}`, {
      hint: 'Nothing was changed. Pick another backup (`lifeline list`) and run `lifeline verify` on it.',
    });
  }
  const check = await preflight({ conn: options.conn, manifest, mode: options.mode, live, newDatabase: database, jobs: options.jobs ?? 1, stagingDir: options.stagingDir });
  const pgRestore = await findTool('pg_restore', { major: check.serverMajor });
  const contents = await planRestoreContents(options, check, pgRestore, live);
  if (contents) check.problems.push(...contents.problems);
  // Platform rows are loaded out of dump order, which needs the dump on local disk.
  const shortfall = contents?.platform ? stagingShortfall(options.stagingDir, manifest) : undefined;
  if (shortfall) check.problems.push(shortfall);
  const plan = describePlan(options, database, keptAs, check, contents);
  if (options.dryRun) return { mode: options.mode, database, keptAs, checks: integrity, preflight: check, plan, dryRun: true, contents };
  if (check.problems.length) {
    const [first] = check.problems;
    throw new LifelineError('RESTORE_REFUSED', first.message, { hint: first.hint });
  }
  const admin = withDatabase(options.conn, check.adminDatabase);
  const releaseTarget = await lockRestoreTarget(admin, options.mode === 'into' ? database : live!, signal);
  try {
    return await changeTarget({ ...options, manifest, database, keptAs, live, check, plan, integrity, partial, pgRestore, contents });
  } finally {
    await releaseTarget();
  }
}

/** Everything after the checks, under the target lock: from the confirmation to the swap. */
async function changeTarget(
  options: RestoreOptions & {
    database: string;
    keptAs?: string;
    live?: string;
    check: Preflight;
    plan: string[];
    integrity: VerifyCheck[];
    partial: boolean;
    pgRestore: PgTool;
    contents?: ContentsPlan;
  },
): Promise<RestoreResult> {
  const { repo, manifest, signal, onProgress, database, keptAs, live, check, plan, integrity, partial, pgRestore, contents } = options;
  await options.confirm?.({ plan, preflight: check, database, keptAs });
  throwIfAborted(signal);

  const admin = withDatabase(options.conn, check.adminDatabase);
  const target = withDatabase(options.conn, database);
  let safetyBackupId: string | undefined;
  const filterArgs = [
    ...(options.schemas ?? []).flatMap((s) => ['--schema', s]),
    ...(options.tables ?? []).flatMap((t) => ['--schema', t.schema, '--table', t.table]),
  ];
  const ownerArgs = check.isSuperuser ? [] : ['--no-owner'];
  const platform = contents?.platform;
  const keptAsIs = new Set(platform?.keptAsIs ?? []);
  const selected = (t: TableRef) =>
    !keptAsIs.has(`${t.schema}.${t.table}`) &&
    (!partial || Boolean(options.schemas?.includes(t.schema) || options.tables?.some((x) => x.schema === t.schema && x.table === t.table)));
  // The platform may have added columns to its tables since the backup: their rows are counted, not fingerprinted.
  const countsOnly = (t: TableRef) => Boolean(platform?.schemas.includes(t.schema));
  const useList = contents?.useList?.text;
  let consistency: VerifyCheck[];

  if (options.mode === 'in-place') {
    onProgress?.({ phase: 'safety', message: `taking a safety backup of ${live} first` });
    if (!options.safetyBackup) throw new Error('in-place restore needs a safetyBackup function');
    safetyBackupId = await options.safetyBackup();
    throwIfAborted(signal);
    onProgress?.({ phase: 'safety', message: `safety backup ${safetyBackupId} recorded` });
    await prepareExtensions(target, contents, options);
    onProgress?.({ phase: 'restore', message: `restoring ${manifest.id} over ${live} in one transaction` });
    try {
      if (platform) {
        onProgress?.({ phase: 'stage', message: `staging the dump in ${options.stagingDir}: the platform tables' rows are loaded out of dump order` });
        const psql = await findTool('psql', { major: check.serverMajor });
        await withStagedDump({ repo, manifest, stagingDir: options.stagingDir, jobs: 1, signal, onProgress }, (staged) =>
          runPlatformRestore({ staged, useList: useList!, plan: platform, pgRestore, psql, conn: target, ownerArgs, isSuperuser: check.isSuperuser, signal, onProgress }),
        );
      } else {
        await runRestore({ ...options, pgRestore, conn: target, useList, args: [...ownerArgs, '--clean', '--if-exists', '--single-transaction', '--exit-on-error', dbnameArg(database)] });
      }
    } catch (error) {
      throw withHint(error, `${live} was rolled back to how it was; the safety backup is ${safetyBackupId}.`);
    }
    consistency = await analyzeAndCheck(target, manifest, selected, countsOnly, options);
    const failed = consistency.filter((c) => !c.ok);
    if (failed.length) {
      throw new LifelineError('RESTORE_FAILED', `Restored data does not match backup ${manifest.id}: ${failed[0].name}: ${failed[0].detail}`, {
        hint: `Inspect ${live}; to go back, restore the safety backup ${safetyBackupId}.`,
      });
    }
  } else {
    await createDatabaseLike(admin, database, options.mode === 'swap' ? live : undefined, check.isSuperuser);
    // Until the swap, the new database is ours alone: any failure or interruption drops it, so
    // only a killed process leaves one behind (named <db>__restore_<time>, listed by preflight).
    let keepOnFailure = false;
    try {
      await prepareExtensions(target, contents, options);
      onProgress?.({ phase: 'restore', message: `restoring ${manifest.id} into new database ${database}` });
      await runRestore({ ...options, pgRestore, conn: target, useList, args: [...ownerArgs, ...filterArgs, '--exit-on-error', dbnameArg(database)] });
      consistency = await analyzeAndCheck(target, manifest, selected, countsOnly, options);
      const failed = consistency.filter((c) => !c.ok);
      if (failed.length) {
        keepOnFailure = options.mode === 'into';
        throw new LifelineError('RESTORE_FAILED', `Restored data does not match backup ${manifest.id}: ${failed[0].name}: ${failed[0].detail}`, {
          hint: options.mode === 'swap' ? `The live database ${live} was not touched.` : `Inspect ${database}; the live database was not touched.`,
        });
      }
      if (options.mode === 'swap') {
        throwIfAborted(signal);
        onProgress?.({ phase: 'swap', message: `copying ${live}'s settings, grants and comment to ${database}` });
        await carryOverDatabaseSettings({ admin, from: live!, to: database, isSuperuser: check.isSuperuser });
        throwIfAborted(signal);
        onProgress?.({ phase: 'swap', message: `swapping: ${live} → ${keptAs}, ${database} → ${live}` });
        await swapNames(admin, live!, database, keptAs!);
      }
    } catch (error) {
      if (!keepOnFailure) {
        onProgress?.({ phase: 'cleanup', message: `dropping the unfinished ${database}` });
        await dropDatabase(admin, database).catch(() => undefined);
      }
      throw error;
    }
  }
  return {
    mode: options.mode,
    database: options.mode === 'swap' ? live! : database,
    keptAs,
    safetyBackupId,
    checks: [...integrity, ...consistency],
    preflight: check,
    plan,
    dryRun: false,
    contents,
  };
}
/**
 * Reads the dump's table of contents and plans, against the target, the extensions to create, the
 * platform tables to load data-only and the entries to leave out. Skipped (undefined) when the
 * preflight already found that the database the restore lands in cannot be reached.
 */
async function planRestoreContents(options: RestoreOptions, check: Preflight, pgRestore: PgTool, live: string | undefined): Promise<ContentsPlan | undefined> {
  const planningDb = options.mode === 'in-place' ? live! : check.adminDatabase;
  let client;
  try {
    client = await connect(withDatabase(options.conn, planningDb), { signal: options.signal });
  } catch (error) {
    if (check.problems.length) return undefined;
    throw error;
  }
  try {
    const toc = await readToc({ repo: options.repo, manifest: options.manifest, pgRestore, stagingDir: options.stagingDir, signal: options.signal });
    return await planContents(client, { manifest: options.manifest, toc, mode: options.mode, isSuperuser: check.isSuperuser, role: check.role });
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function prepareExtensions(target: ConnInfo, contents: ContentsPlan | undefined, options: RestoreOptions): Promise<void> {
  const steps = contents?.extensions.steps.filter((s) => s.action === 'create') ?? [];
  if (!steps.length) return;
  options.onProgress?.({ phase: 'extensions', message: `creating extension(s) ${steps.map((s) => s.name).join(', ')} first` });
  const client = await connect(target, { signal: options.signal });
  try {
    await createExtensions(client, steps);
  } finally {
    await client.end().catch(() => undefined);
  }
}


async function analyzeAndCheck(
  target: ConnInfo,
  manifest: Manifest,
  selected: (t: TableRef) => boolean,
  countsOnly: (t: TableRef) => boolean,
  options: RestoreOptions,
): Promise<VerifyCheck[]> {
  options.onProgress?.({ phase: 'analyze', message: `ANALYZE ${target.database}` });
  const client = await connect(target, { signal: options.signal });
  try {
    await client.query('ANALYZE');
  } finally {
    await client.end().catch(() => undefined);
  }
  throwIfAborted(options.signal);
  options.onProgress?.({ phase: 'verify', message: 'verifying restored rows against the manifest' });
  return checkConsistency({ conn: target, expected: manifest.tables ?? [], only: selected, countsOnly, signal: options.signal });
}

function withHint(error: unknown, hint: string): unknown {
  if (isLifelineError(error) && error.code !== 'ABORTED') return new LifelineError(error.code, error.message, { hint, cause: error });
  return error;
}

/** pg_restore of the stored dump; only the listed entries when `useList` is given. */
async function runRestore(options: RestoreOptions & { pgRestore: PgTool; args: string[]; useList?: string }): Promise<void> {
  const listDir = options.useList ? await makeScratchDir(options.stagingDir, 'restore-list-') : undefined;
  try {
    const args = [...options.args];
    if (listDir) {
      const listFile = path.join(listDir, `${options.manifest.id}.list`);
      fs.writeFileSync(listFile, options.useList!, { mode: 0o600 });
      args.push(`--use-list=${listFile}`);
    }
    const run = await runPgRestore({
      repo: options.repo,
      manifest: options.manifest,
      pgRestore: options.pgRestore,
      args,
      conn: options.conn,
      jobs: options.jobs,
      stagingDir: options.stagingDir,
      signal: options.signal,
      onProgress: options.onProgress,
    });
    if (run.read) assertUnchanged(run.read);
  } finally {
    if (listDir) fs.rmSync(listDir, { recursive: true, force: true });
  }
}

/** The bytes restored are the bytes checked: the object did not change after the integrity check. */
function assertUnchanged(read: StreamedObject): void {
  if (read.size !== read.object.size || read.sha256 !== read.object.sha256) {
    throw new LifelineError('RESTORE_FAILED', `${read.object.name} changed in the repository during the restore (sha256 ${read.sha256}, manifest ${read.object.sha256})`, {
      hint: 'Something is writing into the repository; run `lifeline verify` on the backup.',
    });
  }
}

async function createDatabaseLike(admin: ConnInfo, database: string, like: string | undefined, isSuperuser: boolean): Promise<void> {
  const client = await connect(admin);
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount) {
      throw new LifelineError('RESTORE_REFUSED', `Database "${database}" already exists.`, { hint: 'Pick another name with --into, or drop it first.' });
    }
    let clause = 'TEMPLATE template0';
    if (like) {
      const { rows } = await client.query<{ enc: string; collate: string; ctype: string; owner: string }>(
        `SELECT pg_encoding_to_char(encoding) AS enc, datcollate AS collate, datctype AS ctype, pg_get_userbyid(datdba) AS owner
           FROM pg_database WHERE datname = $1`,
        [like],
      );
      const source = rows[0];
      if (source) {
        clause += ` ENCODING '${source.enc}' LC_COLLATE '${source.collate.replace(/'/g, "''")}' LC_CTYPE '${source.ctype.replace(/'/g, "''")}'`;
        if (isSuperuser) clause += ` OWNER ${quoteIdent(source.owner)}`;
      }
    }
    await client.query(`CREATE DATABASE ${quoteIdent(database)} ${clause}`);
  } catch (error) {
    if (isLifelineError(error)) throw error;
    throw new LifelineError('DB_PRIVILEGE', `Cannot create database "${database}": ${(error as Error).message}`, {
      hint: 'The role needs CREATEDB; without it use --in-place (a safety backup is taken first).',
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function dropDatabase(admin: ConnInfo, database: string): Promise<void> {
  const client = await connect(admin);
  try {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The one short step: both renames commit together or not at all. */
async function swapNames(admin: ConnInfo, live: string, restored: string, keptAs: string): Promise<void> {
  const client = await connect(admin);
  try {
    const sessions = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity a WHERE a.datname = $1 AND ${OTHER_CLIENT_SESSION}`,
      [live],
    );
    if (Number(sessions.rows[0].n) > 0) {
      throw new LifelineError('RESTORE_REFUSED', `${sessions.rows[0].n} session(s) are still connected to ${live}; the restored copy is ready as ${restored}.`, {
        hint: `Turn maintenance on (\`lifeline maintenance on\`) to end them, then run the restore again; or drop ${restored}.`,
      });
    }
    await client.query('BEGIN');
    await client.query(`ALTER DATABASE ${quoteIdent(live)} RENAME TO ${quoteIdent(keptAs)}`);
    await client.query(`ALTER DATABASE ${quoteIdent(restored)} RENAME TO ${quoteIdent(live)}`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (isLifelineError(error)) throw error;
    throw new LifelineError('RESTORE_FAILED', `Swapping database names failed: ${(error as Error).message}`, {
      hint: `Nothing was renamed; the restored copy is ${restored}.`,
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}

function describePlan(options: RestoreOptions, database: string, keptAs: string | undefined, check: Preflight, contents: ContentsPlan | undefined): string[] {
  const live = options.conn.database;
  const id = options.manifest.id;
  const steps = [`check backup ${id} (sizes and sha256 of every object)`];
  const notes = (contents?.notes ?? []).map((n) => `  - ${n}`);
  if (options.mode === 'in-place') {
    steps.push(`take a safety backup of ${live}`, `restore ${id} over ${live} with --clean in one transaction`, ...notes);
  } else {
    steps.push(`create database ${database}`, `restore ${id} into ${database}${options.tables?.length || options.schemas?.length ? ' (selected tables/schemas only)' : ''}`, ...notes);
  }
  steps.push(`ANALYZE and verify row counts, fingerprints, foreign keys and indexes against the manifest`);
  if (options.mode === 'swap') steps.push(`copy ${live}'s settings, grants and comment to ${database}`, `rename ${live} → ${keptAs} and ${database} → ${live} in one transaction`);
  steps.push(...check.leftovers.map((name) => `note: leftover from an interrupted restore: ${name} (drop it once you no longer need it)`));
  if (check.problems.length) steps.push(...check.problems.map((p) => `BLOCKED: ${p.message}`));
  return steps;
}
