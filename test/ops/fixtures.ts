import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { openRepository } from '../../src/storage/open-repository.js';
import type { Repository } from '../../src/storage/repository.js';
import type { BackupLabel, Manifest } from '../../src/storage/manifest.js';

export const DAY = 86_400_000;
export const NOW = new Date('2026-11-24T12:00:00Z');

export async function tempRepo(): Promise<{ dir: string; repo: Repository; cleanup(): void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-ops-'));
  const repo = await openRepository(path.join(dir, 'repo'));
  return { dir, repo, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A backup of a chosen age, written through the repository's own API (object, then manifest). */
export async function addBackup(
  repo: Repository,
  options: { label: BackupLabel; ageDays: number; kind?: 'logical' | 'base'; verified?: boolean; startLsn?: string; now?: Date },
): Promise<Manifest> {
  const finished = new Date((options.now ?? NOW).getTime() - options.ageDays * DAY);
  const id = await repo.reserveBackupId({ label: options.label, time: finished });
  const body = Buffer.from(`backup ${id}`);
  const name = options.kind === 'base' ? 'base.tar' : 'data.dump';
  const put = await repo.store.put(repo.backupKey(id, name), body);
  const manifest: Manifest = {
    formatVersion: 1,
    id,
    kind: options.kind ?? 'logical',
    label: options.label,
    operator: 'test',
    host: 'test',
    startedAt: finished.toISOString(),
    finishedAt: finished.toISOString(),
    serverVersion: 'PostgreSQL 15',
    serverVersionNum: 150000,
    toolVersions: {},
    compression: { algorithm: 'none' },
    objects: [{ name, size: put.size, sha256: createHash('sha256').update(body).digest('hex') }],
    ...(options.kind === 'base' ? { timeline: 1, startLsn: options.startLsn ?? '0/2000028', stopLsn: '0/2000100' } : {}),
  };
  await repo.writeManifest(manifest);
  if (options.verified) {
    await repo.addVerification(id, {
      backupId: id,
      requestedLevel: 'archive',
      passedLevel: 'archive',
      ok: true,
      startedAt: finished.toISOString(),
      finishedAt: finished.toISOString(),
      checks: [{ level: 'integrity', name: 'x', ok: true }, { level: 'archive', name: 'y', ok: true }],
    });
  }
  return manifest;
}
