import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { prune } from '../../src/engine/retention/prune.js';
import type { Repository } from '../../src/storage/repository.js';
import { addBackup, DAY, NOW, tempRepo } from './fixtures.js';

const policy = configSchema.parse({}).policy;
let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

async function repoWith(): Promise<Repository> {
  const t = await tempRepo();
  cleanup = t.cleanup;
  return t.repo;
}

describe('prune', () => {
  it('keeps daily backups younger than 7 days and deletes the older ones, at the exact boundary', async () => {
    const repo = await repoWith();
    const young = await addBackup(repo, { label: 'daily', ageDays: 6.99, verified: true });
    const newest = await addBackup(repo, { label: 'daily', ageDays: 1 });
    const old = await addBackup(repo, { label: 'daily', ageDays: 7.01 });
    const plan = await prune({ repo, policy, now: NOW, dryRun: true });
    expect(plan.delete.map((d) => d.id)).toEqual([old.id]);
    expect(plan.delete[0].reason).toMatch(/daily: 7\.0 days old, past 7 days/);
    expect(plan.keep.map((k) => k.id).sort()).toEqual([newest.id, young.id].sort());
    expect((await repo.listBackups()).backups).toHaveLength(3); // dry run deleted nothing

    const done = await prune({ repo, policy, now: NOW });
    expect(done.deleted).toEqual([old.id]);
    expect((await repo.listBackups()).backups.map((b) => b.id).sort()).toEqual([newest.id, young.id].sort());
    expect(await repo.store.list(`backups/${old.id}/`)).toEqual([]);
  });

  it('never deletes the newest verified backup, however old', async () => {
    const repo = await repoWith();
    const verified = await addBackup(repo, { label: 'daily', ageDays: 40, verified: true });
    const unverified = await addBackup(repo, { label: 'daily', ageDays: 1 });
    const plan = await prune({ repo, policy, now: NOW, dryRun: true });
    expect(plan.delete).toEqual([]);
    expect(plan.keep.find((k) => k.id === verified.id)?.reason).toBe('newest verified logical backup');
    expect(plan.keep.find((k) => k.id === unverified.id)).toBeDefined();
  });

  it('keeps the base backup that anchors the 30-day point-in-time window', async () => {
    const repo = await repoWith();
    const anchor = await addBackup(repo, { label: 'pitr', kind: 'base', ageDays: 31 });
    const older = await addBackup(repo, { label: 'pitr', kind: 'base', ageDays: 35 });
    const recent = await addBackup(repo, { label: 'pitr', kind: 'base', ageDays: 2, verified: true });
    const plan = await prune({ repo, policy, now: NOW, dryRun: true });
    expect(plan.delete.map((d) => d.id)).toEqual([older.id]);
    expect(plan.keep.find((k) => k.id === anchor.id)?.reason).toMatch(/start of the 30-day point-in-time window/);
    expect(plan.keep.find((k) => k.id === recent.id)).toBeDefined();
  });

  it('deletes WAL older than the oldest kept base backup but keeps history files', async () => {
    const repo = await repoWith();
    await addBackup(repo, { label: 'pitr', kind: 'base', ageDays: 1, verified: true, startLsn: '0/5000028' });
    for (const name of ['000000010000000000000003', '000000010000000000000004', '000000010000000000000005', '000000010000000000000006', '00000002.history']) {
      await repo.store.put(`wal/${name.slice(0, 8)}/${name}.zst`, Buffer.from(name));
    }
    const done = await prune({ repo, policy, now: NOW });
    const left = (await repo.store.list('wal/')).map((o) => o.key.split('/').pop()!.replace('.zst', ''));
    expect(done.walDeleted).toBe(2);
    expect(left.sort()).toEqual(['000000010000000000000005', '000000010000000000000006', '00000002.history']);
  });

  it('refuses a policy that would delete everything', async () => {
    const repo = await repoWith();
    const strict = configSchema.parse({ policy: { retention: { daily: { days: 1, keepLast: 0 } } } }).policy;
    await addBackup(repo, { label: 'daily', ageDays: 3 });
    await addBackup(repo, { label: 'daily', ageDays: 4 });
    const result = await prune({ repo, policy: strict, now: NOW });
    expect(result.refused).toMatch(/would delete all 2 backups/);
    expect(result.deleted).toEqual([]);
    expect((await repo.listBackups()).backups).toHaveLength(2);
  });

  it('keeps the newest pre-deploy backups by count even when old', async () => {
    const repo = await repoWith();
    const ids = [];
    for (let i = 0; i < 7; i++) ids.push((await addBackup(repo, { label: 'pre-deploy', ageDays: 40 + i })).id);
    const plan = await prune({ repo, policy, now: new Date(NOW.getTime() + DAY), dryRun: true });
    expect(plan.keep.map((k) => k.id)).toEqual(ids.slice(0, 5));
    expect(plan.delete.map((d) => d.id)).toEqual(ids.slice(5));
  });
});
