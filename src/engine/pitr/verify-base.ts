import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { isLifelineError } from '../../errors.js';
import type { VerifyLevel } from '../../config/schema.js';
import { connect } from '../../postgres/client.js';
import { findTool } from '../../postgres/tools.js';
import type { Manifest } from '../../storage/manifest.js';
import type { Repository } from '../../storage/repository.js';
import type { ProgressCallback } from '../progress.js';
import { walFetch } from '../wal/fetch.js';
import { makeScratchDir } from '../scratch.js';
import { lsnSegment, segmentName } from '../wal/names.js';
import { levelRank, type VerifyCheck } from '../verify/types.js';
import { recoverCluster } from './recover.js';
import { extractBaseBackup } from './extract-base.js';

export interface VerifyBaseOptions {
  repo: Repository;
  manifest: Manifest;
  level: VerifyLevel;
  workDir: string;
  assertions?: { name: string; sql: string }[];
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

/**
 * The ladder above integrity for a base backup:
 *   archive      pg_verifybackup on the extracted content, with its start..stop WAL from the archive
 *   restore      recovered in a disposable cluster to its consistent point (recovery_target = immediate)
 *   consistency  pg_amcheck over every database of that cluster, plus the configured SQL assertions
 */
export async function verifyBaseBackup(options: VerifyBaseOptions): Promise<VerifyCheck[]> {
  const { repo, manifest, level, signal, onProgress } = options;
  fs.mkdirSync(options.workDir, { recursive: true, mode: 0o700 });
  onProgress?.({ phase: 'archive', message: `archive: extracting ${manifest.id} and running pg_verifybackup with its WAL` });
  const checks = await verifyArchive(options);
  if (checks.some((c) => !c.ok) || levelRank(level) < levelRank('restore')) return checks;

  const root = await makeScratchDir(options.workDir, 'verify-base-');
  const major = Math.floor(manifest.serverVersionNum / 10000);
  try {
    onProgress?.({ phase: 'restore', message: `restore: recovering ${manifest.id} to its consistent point in a disposable cluster` });
    let recovered;
    try {
      recovered = await recoverCluster({ repo, backup: manifest, clusterDir: path.join(root, 'cluster'), dataDir: path.join(root, 'data'), target: 'immediate', signal, onProgress });
    } catch (error) {
      if (signal?.aborted || !isLifelineError(error)) throw error;
      return [...checks, { level: 'restore', name: 'recovers to consistency', ok: false, detail: error.message }];
    }
    try {
      checks.push({ level: 'restore', name: 'recovers to consistency', ok: true, detail: `WAL ${String(manifest.extra?.startWalFile)}..${String(manifest.extra?.stopWalFile)} from the archive; promoted to timeline ${recovered.timeline}` });
      if (levelRank(level) < levelRank('consistency')) return checks;
      onProgress?.({ phase: 'consistency', message: 'consistency: pg_amcheck over every database, then the assertions' });
      checks.push(...(await amcheck(recovered.cluster.socketDir, recovered.cluster.port, major, signal)));
      for (const assertion of options.assertions ?? []) {
        const client = await connect(recovered.cluster.conn(manifest.database ?? 'postgres'), { signal });
        try {
          const { rows } = await client.query(assertion.sql);
          const ok = rows.length > 0 && Object.values(rows[0])[0] === true;
          checks.push({ level: 'consistency', name: `assertion ${assertion.name}`, ok, detail: ok ? 'true' : 'false or no row' });
        } catch (error) {
          checks.push({ level: 'consistency', name: `assertion ${assertion.name}`, ok: false, detail: (error as Error).message });
        } finally {
          await client.end().catch(() => undefined);
        }
      }
      return checks;
    } finally {
      await recovered.cluster.destroy().catch(() => undefined);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Level archive: extract, fetch the backup's WAL from the archive, pg_verifybackup. No server is started. */
async function verifyArchive(options: VerifyBaseOptions): Promise<VerifyCheck[]> {
  const { repo, manifest, signal } = options;
  const root = await makeScratchDir(options.workDir, 'verify-base-');
  try {
    const dataDir = path.join(root, 'data');
    fs.mkdirSync(dataDir, { mode: 0o700 });
    try {
      await extractBaseBackup(repo, manifest, dataDir, signal);
    } catch (error) {
      if (isLifelineError(error) && ['REPO_CORRUPT', 'PITR_FAILED'].includes(error.code)) return [{ level: 'archive', name: 'base tar', ok: false, detail: error.message }];
      throw error;
    }
    return [
      { level: 'archive', name: 'base tar', ok: true, detail: 'extracted' },
      ...(await runVerifyBackup(repo, manifest, dataDir, root, Math.floor(manifest.serverVersionNum / 10000), signal)),
    ];
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function runVerifyBackup(repo: Repository, manifest: Manifest, dataDir: string, root: string, major: number, signal?: AbortSignal): Promise<VerifyCheck[]> {
  const walDir = path.join(root, 'wal');
  fs.mkdirSync(walDir, { recursive: true, mode: 0o700 });
  const segmentSize = Number(manifest.extra?.walSegmentSize ?? 16 * 1024 * 1024);
  const timeline = manifest.timeline ?? 1;
  for (let n = lsnSegment(manifest.startLsn!, segmentSize); n <= lsnSegment(manifest.stopLsn!, segmentSize); n++) {
    const name = segmentName(timeline, n, segmentSize);
    const fetched = await walFetch({ store: repo.store, keyring: repo.keyring, name, dest: path.join(walDir, name), signal, attempts: 2 });
    if (!fetched.found) return [{ level: 'archive', name: 'WAL archived', ok: false, detail: `${name}, which the backup needs, is not in the archive` }];
  }
  const tool = await findTool('pg_verifybackup', { major });
  const result = await execa(tool.path, ['--wal-directory', walDir, dataDir], { reject: false, cancelSignal: signal, stdin: 'ignore' });
  const output = `${String(result.stdout)}\n${String(result.stderr)}`.trim();
  return [
    { level: 'archive', name: 'WAL archived', ok: true, detail: `${String(manifest.extra?.startWalFile)}..${String(manifest.extra?.stopWalFile)}` },
    result.exitCode === 0
      ? { level: 'archive', name: 'pg_verifybackup', ok: true, detail: output.split('\n').pop() ?? 'verified' }
      : { level: 'archive', name: 'pg_verifybackup', ok: false, detail: output.split('\n').slice(-3).join(' / ') },
  ];
}

async function amcheck(socketDir: string, port: number, major: number, signal?: AbortSignal): Promise<VerifyCheck[]> {
  let tool;
  try {
    tool = await findTool('pg_amcheck' as never, { major });
  } catch {
    return [];
  }
  const result = await execa(tool.path, ['--all', '--install-missing', '--no-password', '-h', socketDir, '-p', String(port), '-U', 'postgres'], { reject: false, cancelSignal: signal, stdin: 'ignore' });
  return [
    result.exitCode === 0
      ? { level: 'consistency', name: 'pg_amcheck', ok: true, detail: 'every table and btree index of every database checked' }
      : { level: 'consistency', name: 'pg_amcheck', ok: false, detail: `${String(result.stdout)}\n${String(result.stderr)}`.trim().split('\n').slice(0, 3).join(' / ') },
  ];
}
