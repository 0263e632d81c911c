import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  compareBackupIdsNewestFirst,
  formatBackupId,
  parseBackupId,
  validateBackupRef,
} from '../../src/storage/backup-id.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { Repository } from '../../src/storage/repository.js';
import { makeTempDir } from './helpers.js';

const time = new Date('2026-11-24T02:00:00.789Z');

describe('backup ids', () => {
  it('format as <UTC time>-<label>[-n]', () => {
    expect(formatBackupId({ time, label: 'daily' })).toBe('20261124T020000Z-daily');
    expect(formatBackupId({ time, label: 'pre-deploy', sequence: 3 })).toBe('20261124T020000Z-pre-deploy-3');
    expect(() => formatBackupId({ time, label: 'Bad/Label' })).toThrow();
  });

  it('parse back, including labels with dashes and suffixes', () => {
    expect(parseBackupId('20261124T020000Z-daily')).toEqual({
      id: '20261124T020000Z-daily',
      time: new Date('2026-11-24T02:00:00Z'),
      label: 'daily',
      sequence: 1,
    });
    expect(parseBackupId('20261124T020000Z-pre-deploy-12')).toMatchObject({ label: 'pre-deploy', sequence: 12 });
    expect(parseBackupId('20261399T020000Z-daily')).toBeUndefined();
    expect(parseBackupId('20261124T020000Z-daily-1')).toBeUndefined();
    expect(parseBackupId('nonsense')).toBeUndefined();
  });

  it('sort newest first, with -10 after -9', () => {
    const ids = ['20261124T020000Z-daily', '20261124T020000Z-daily-10', '20261125T000000Z-manual', '20261124T020000Z-daily-9'];
    expect([...ids].sort(compareBackupIdsNewestFirst)).toEqual([
      '20261125T000000Z-manual',
      '20261124T020000Z-daily-10',
      '20261124T020000Z-daily-9',
      '20261124T020000Z-daily',
    ]);
  });

  it('validate user input before it goes near a path', () => {
    for (const ok of ['20261124T020000Z-daily', '2026', 'latest', 'latest-verified']) expect(validateBackupRef(ok)).toBe(ok);
    for (const bad of ['../etc', 'a/b', '"x"', "it's", '', '.', '-rf', 'a b', 'x\n']) {
      expect(() => validateBackupRef(bad)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
  });
});

describe('reserving ids', () => {
  let dir: string;
  let repo: Repository;

  beforeEach(async () => {
    dir = await makeTempDir();
    repo = new Repository(new LocalStore({ root: path.join(dir, 'repo') }));
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('adds -2, -3 when the id is taken', async () => {
    expect(await repo.reserveBackupId({ label: 'daily', time })).toBe('20261124T020000Z-daily');
    expect(await repo.reserveBackupId({ label: 'daily', time })).toBe('20261124T020000Z-daily-2');
    expect(await repo.reserveBackupId({ label: 'manual', time })).toBe('20261124T020000Z-manual');
    expect(await repo.reserveBackupId({ label: 'daily', time })).toBe('20261124T020000Z-daily-3');
  });

  it('20 parallel reservations get 20 distinct ids, even from separate Repository objects', async () => {
    const root = path.join(dir, 'repo');
    const ids = await Promise.all(
      Array.from({ length: 20 }, () => new Repository(new LocalStore({ root })).reserveBackupId({ label: 'daily', time })),
    );
    expect(new Set(ids).size).toBe(20);
    expect(ids).toContain('20261124T020000Z-daily');
    expect(ids).toContain('20261124T020000Z-daily-20');
  });

  it('a reservation is not a backup', async () => {
    await repo.reserveBackupId({ label: 'daily', time });
    expect((await repo.listBackups()).backups).toEqual([]);
    await expect(repo.resolveBackup('latest')).rejects.toMatchObject({ code: 'BACKUP_NOT_FOUND' });
    await expect(repo.resolveBackup('20261124T020000Z-daily')).rejects.toMatchObject({ code: 'BACKUP_NOT_FOUND' });
  });
});
