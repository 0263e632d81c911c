import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fs from 'node:fs/promises';
import { LifelineError, isLifelineError, throwIfAborted } from '../../errors.js';
import type { VerifyLevel } from '../../config/schema.js';
import { dbnameArg, describeConn, withDatabase, type ConnInfo } from '../../postgres/conninfo.js';
import { connect } from '../../postgres/client.js';
import { createCluster } from '../../postgres/cluster.js';
import { findTool } from '../../postgres/tools.js';
import type { Manifest } from '../../storage/manifest.js';
import type { Repository } from '../../storage/repository.js';
import { runPgRestore } from '../restore/pg-restore.js';
import { createExtensions, neededExtensions, planExtensions } from '../restore/extensions.js';
import { recordedFacts } from '../restore/recorded.js';
import { TarPeek } from '../backup/tar-peek.js';
import { decompressor } from '../compress/codec.js';
import type { ProgressCallback } from '../progress.js';
import { quoteIdent } from '../backup/fingerprint.js';
import { checkConsistency, type SqlAssertion } from './consistency.js';
import { checkIntegrity } from './integrity.js';
import { withLocalCopies } from '../restore/local-copies.js';
import { makeScratchDir, scratchError } from '../scratch.js';
import { levelRank, passedLevelOf, type VerifyCheck, type VerifyReport } from './types.js';

export interface VerifyOptions {
  repo: Repository;
  manifest: Manifest;
  level: VerifyLevel;
  /** Restore into this server (CREATEDB needed) instead of a disposable cluster. */
  staging?: ConnInfo;
  /** Where disposable clusters are made and dumps staged (a folder lifeline owns). */
  workDir: string;
  /** Parallel jobs for the restore level (pg_restore -j) and for staging downloads. */
  jobs?: number;
  assertions?: SqlAssertion[];
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** Record the report under backups/<id>/verify/ (default true). */
  record?: boolean;
  /** How long to wait for another writer's repository lock before recording (default 5 minutes). */
  lockWaitMs?: number;
}

/**
 * Climbs the verification ladder up to `level`, stopping at the first level that fails, and
 * records the outcome. Never throws for a failed check: the report says what failed.
 */
export function verifyBackup(options: VerifyOptions): Promise<VerifyReport> {
  // A logical backup read again after its integrity check (archive, restore) is read from S3 once.
  if (options.manifest.kind !== 'logical' || levelRank(options.level) <= levelRank('integrity')) return climb(options);
  return withLocalCopies({ repo: options.repo, manifest: options.manifest, workDir: options.workDir, onProgress: options.onProgress }, (repo) => climb({ ...options, repo }));
}

async function climb(options: VerifyOptions): Promise<VerifyReport> {
  const { repo, manifest, level, signal, onProgress } = options;
  const startedAt = new Date().toISOString();
  const checks: VerifyCheck[] = [];
  let restoredInto: string | undefined;
  // Integrity needs no key (it hashes the bytes as stored); the levels above read the contents.
  if (levelRank(level) > levelRank('integrity')) repo.assertCanDecrypt(manifest);

  onProgress?.({ phase: 'integrity', message: `integrity: re-reading ${manifest.objects.length} object(s)` });
  checks.push(...(await checkIntegrity({ repo, manifest, signal, onProgress })));
  const failedSoFar = () => checks.some((c) => !c.ok);

  if (!failedSoFar() && levelRank(level) >= levelRank('archive') && manifest.kind === 'base') {
    onProgress?.({ phase: 'archive', message: 'archive: reading the whole base backup tar' });
    checks.push(...(await readBaseArchive(repo, manifest, signal)));
    if (!failedSoFar() && levelRank(level) >= levelRank('restore')) {
      checks.push({
        level: 'restore',
        name: 'restore',
        ok: false,
        detail: 'test restores of base backups are not built into verify yet; prove one with `lifeline pitr` into a scratch data directory',
      });
    }
  }
  if (!failedSoFar() && levelRank(level) >= levelRank('archive') && manifest.kind === 'logical') {
    const pgRestore = await findTool('pg_restore', { major: Math.floor(manifest.serverVersionNum / 10000) });
    if (levelRank(level) === levelRank('archive')) {
      onProgress?.({ phase: 'archive', message: 'archive: reading the whole dump with pg_restore' });
      checks.push(...(await readArchive(options, pgRestore)));
    } else {
      const result = await restoreAndCheck({ ...options, pgRestore });
      restoredInto = result.restoredInto;
      checks.push(...result.checks);
    }
  }
  if (!failedSoFar() && levelRank(level) >= levelRank('archive') && manifest.kind === 'base') {
    const { verifyBaseBackup } = await import('../pitr/verify-base.js');
    checks.push(...(await verifyBaseBackup({ repo, manifest, level, workDir: options.workDir, assertions: options.assertions, signal, onProgress })));
  }
  throwIfAborted(signal);
  const passedLevel = passedLevelOf(checks, level);
  const report: VerifyReport = {
    backupId: manifest.id,
    requestedLevel: level,
    passedLevel,
    ok: passedLevel === level,
    startedAt,
    finishedAt: new Date().toISOString(),
    ...(restoredInto ? { restoredInto } : {}),
    checks,
  };
  if (options.record !== false) await record(options, report);
  return report;
}

/**
 * Writes the record under the repository lock, held only for the write: a verification reads for
 * minutes and must not block backups, but its record must not land in a backup being pruned.
 */
async function record(options: VerifyOptions, report: VerifyReport): Promise<void> {
  const { repo, signal, onProgress } = options;
  const release = await repo.acquireLock({
    command: `lifeline verify ${report.backupId}`,
    wait: options.lockWaitMs ?? 5 * 60_000,
    signal,
    onWaiting: (holder) => onProgress?.({ phase: 'lock', message: `waiting for ${holder.command} (pid ${holder.pid}) to release the repository` }),
  });
  try {
    await repo.addVerification(report.backupId, report);
  } finally {
    await release();
  }
}

async function readArchive(options: VerifyOptions, pgRestore: Awaited<ReturnType<typeof findTool>>): Promise<VerifyCheck[]> {
  const { repo, manifest, signal, onProgress } = options;
  try {
    // A directory-format dump is staged first (jobs downloads at once); a custom one streams.
    const run = await runPgRestore({ repo, manifest, pgRestore, args: ['--file=/dev/null'], jobs: options.jobs, stagingDir: options.workDir, signal, onProgress });
    return [{ level: 'archive', name: 'archive readable', ok: true, detail: `pg_restore read every entry` }, tablesCheck('archive', manifest, run.tablesSeen)];
  } catch (error) {
    if (signal?.aborted || !isLifelineError(error)) throw error;
    return [{ level: 'archive', name: 'archive readable', ok: false, detail: error.message }];
  }
}

/** Level 2 for base backups: the tar decompresses and parses to its end and holds backup_label. */
async function readBaseArchive(repo: Repository, manifest: Manifest, signal?: AbortSignal): Promise<VerifyCheck[]> {
  const object = manifest.objects.find((o) => o.name.startsWith('base.tar'));
  if (!object) return [{ level: 'archive', name: 'archive readable', ok: false, detail: 'the manifest names no base.tar object' }];
  const peek = new TarPeek(['backup_label']);
  try {
    const { stream, done } = decompressor(manifest.compression.algorithm).create(signal);
    const discard = new Writable({ write: (_chunk, _enc, callback) => callback() });
    const stored = await repo.getBackupObject(manifest.id, object.name, { signal, encrypted: manifest.encryption !== undefined });
    await Promise.all([pipeline(stored, stream, peek, discard, { signal }), done]);
  } catch (error) {
    if (signal?.aborted) throw error;
    return [{ level: 'archive', name: 'archive readable', ok: false, detail: `${object.name}: ${(error as Error).message}` }];
  }
  return [
    { level: 'archive', name: 'archive readable', ok: true, detail: `${peek.members} tar members` },
    peek.captured.has('backup_label')
      ? { level: 'archive', name: 'backup_label', ok: true, detail: 'present' }
      : { level: 'archive', name: 'backup_label', ok: false, detail: `${object.name} holds no backup_label: not a usable base backup` },
  ];
}

/** Every table the manifest counted has a data entry in the archive. */
function tablesCheck(level: VerifyLevel, manifest: Manifest, seen: Set<string>): VerifyCheck {
  const missing = (manifest.tables ?? []).filter((t) => !seen.has(`${t.schema}.${t.table}`));
  return missing.length
    ? { level, name: 'table data present', ok: false, detail: `no data entry for ${missing.map((t) => `${t.schema}.${t.table}`).join(', ')}` }
    : { level, name: 'table data present', ok: true, detail: `${manifest.tables?.length ?? 0} tables` };
}

async function restoreAndCheck(
  options: VerifyOptions & { pgRestore: Awaited<ReturnType<typeof findTool>> },
): Promise<{ checks: VerifyCheck[]; restoredInto: string }> {
  const { repo, manifest, signal, onProgress } = options;
  const checks: VerifyCheck[] = [];
  const database = `lifeline_verify_${manifest.id.replace(/[^A-Za-z0-9]/g, '_').toLowerCase()}`.slice(0, 63);
  let serverConn: ConnInfo;
  let cleanup: () => Promise<void>;
  let restoredInto: string;
  if (options.staging) {
    serverConn = options.staging;
    restoredInto = describeConn(withDatabase(serverConn, database));
    cleanup = async () => dropDatabase(serverConn, database);
  } else {
    const dir = await makeScratchDir(options.workDir, 'verify-');
    onProgress?.({ phase: 'restore', message: 'restore: starting a disposable cluster' });
    const cluster = await createCluster({ dir, signal }).catch(async (error: unknown) => {
      // initdb may have written part of a cluster there before it failed (a full disk, Ctrl-C).
      await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
      throw scratchError(error, options.workDir, 'creating a disposable cluster');
    });
    serverConn = cluster.conn('postgres');
    restoredInto = 'disposable sandbox cluster';
    cleanup = async () => {
      await cluster.destroy();
    };
  }
  try {
    if (!options.staging) await createRoles(repo, manifest, serverConn, signal);
    await createDatabase(serverConn, database);
    const target = withDatabase(serverConn, database);
    await createNeededExtensions(target, manifest);
    onProgress?.({ phase: 'restore', message: `restore: pg_restore into ${restoredInto}` });
    try {
      const run = await runPgRestore({
        repo,
        manifest,
        pgRestore: options.pgRestore,
        args: ['--no-owner', '--no-privileges', '--exit-on-error', dbnameArg(database)],
        conn: target,
        jobs: options.jobs,
        stagingDir: options.workDir,
        signal,
        onProgress,
      });
      checks.push({ level: 'archive', name: 'archive readable', ok: true, detail: 'pg_restore read every entry' }, tablesCheck('archive', manifest, run.tablesSeen));
      checks.push({ level: 'restore', name: 'restore', ok: true, detail: `restored into ${restoredInto}` });
    } catch (error) {
      if (signal?.aborted || !isLifelineError(error)) throw error;
      checks.push({ level: 'restore', name: 'restore', ok: false, detail: error.message });
      return { checks, restoredInto };
    }
    if (levelRank(options.level) >= levelRank('consistency')) {
      onProgress?.({ phase: 'consistency', message: 'consistency: comparing rows, keys and indexes with the manifest' });
      checks.push(
        ...(await checkConsistency({
          conn: target,
          expected: manifest.tables ?? [],
          assertions: options.assertions,
          signal,
          installAmcheck: !options.staging,
        })),
      );
    }
    return { checks, restoredInto };
  } finally {
    await cleanup().catch(() => undefined);
  }
}

async function createDatabase(server: ConnInfo, database: string): Promise<void> {
  const client = await connect(withDatabase(server, server.database ?? 'postgres'));
  try {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)}`);
    await client.query(`CREATE DATABASE ${quoteIdent(database)}`);
  } catch (error) {
    throw new LifelineError('DB_PRIVILEGE', `Cannot create the scratch database ${database}: ${(error as Error).message}`, {
      hint: 'The staging role needs CREATEDB; or verify without --staging to use a disposable cluster.',
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function dropDatabase(server: ConnInfo, database: string): Promise<void> {
  const client = await connect(withDatabase(server, server.database ?? 'postgres'));
  try {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Extensions the dump needs but does not create where it would put them (a skipped schema such as
 * Supabase's `extensions`), created first as a restore would.
 */
async function createNeededExtensions(target: ConnInfo, manifest: Manifest): Promise<void> {
  const recorded = recordedFacts(manifest);
  if (!recorded.extensions?.length) return;
  const client = await connect(target);
  try {
    const su = (await client.query<{ su: boolean }>('SELECT rolsuper AS su FROM pg_roles WHERE rolname = current_user')).rows[0].su;
    const role = (await client.query<{ role: string }>('SELECT current_user AS role')).rows[0].role;
    const plan = await planExtensions(client, { needed: neededExtensions(recorded.extensions, undefined), targetExists: false, isSuperuser: su, scope: recorded.scope, role, inPlace: false });
    // An extension that cannot be created here fails the restore check with pg_restore's own error.
    await createExtensions(client, plan.steps.filter((s) => !s.refused));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The backup's roles (globals.sql) created in the disposable cluster first: policies and grants in
 * the dump name them, and --no-owner/--no-privileges do not cover policies. Each statement runs on
 * its own so that roles the cluster already has (postgres) are no obstacle. Password hashes
 * (--role-passwords) are left out: the cluster needs none, and its log would keep a failed statement.
 */
async function createRoles(repo: Repository, manifest: Manifest, server: ConnInfo, signal?: AbortSignal): Promise<void> {
  if (!manifest.objects.some((o) => o.name === 'globals.sql')) return;
  const chunks: Buffer[] = [];
  for await (const chunk of await repo.getBackupObject(manifest.id, 'globals.sql', { signal, encrypted: manifest.encryption !== undefined })) chunks.push(chunk as Buffer);
  const statements = Buffer.concat(chunks)
    .toString('utf8')
    .split(/;\s*\n/)
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').replace(/\s+PASSWORD\s+'(?:[^']|'')*'/gi, '').trim())
    .filter((statement) => /^(CREATE|ALTER|GRANT|COMMENT)\b/i.test(statement));
  const client = await connect(server);
  try {
    for (const statement of statements) await client.query(statement).catch(() => undefined);
  } finally {
    await client.end().catch(() => undefined);
  }
}
