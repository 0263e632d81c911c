import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '../../src/storage/local-store.js';
import { openRepository } from '../../src/storage/open-repository.js';
import {
  auditKey,
  backupKey,
  manifestKey,
  Repository,
  walKey,
  type RepositoryOptions,
} from '../../src/storage/repository.js';
import type { Store } from '../../src/storage/store.js';
import type { VerificationInput } from '../../src/storage/verification.js';
import { lifelineError, makeTempDir, readAll, sampleManifest } from './helpers.js';

let dir: string;
let root: string;
let store: LocalStore;
let repo: Repository;

beforeEach(async () => {
  dir = await makeTempDir();
  root = path.join(dir, 'repo');
  store = new LocalStore({ root });
  repo = new Repository(store);
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A complete backup started at `startedAt` (ISO). */
async function makeBackup(target: Repository, startedAt: string, label = 'daily'): Promise<string> {
  const id = await target.reserveBackupId({ label, time: new Date(startedAt) });
  await target.putBackupObject(id, 'data.dump', 'data');
  await target.writeManifest(sampleManifest(id, { startedAt, finishedAt: startedAt, label: label as 'daily' }));
  return id;
}

function verification(id: string, requestedLevel: VerificationInput['requestedLevel'], ok: boolean, passedLevel?: VerificationInput['passedLevel']): VerificationInput {
  return {
    backupId: id,
    requestedLevel,
    ok,
    ...(passedLevel ? { passedLevel } : {}),
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    checks: [{ level: requestedLevel, name: 'test', ok }],
  };
}

describe('repository description (lifeline.json)', () => {
  it('a missing folder reads as an empty repository and is initialised on first write', async () => {
    expect(await repo.info()).toBeUndefined();
    expect(await repo.listBackups()).toEqual({ backups: [], problems: [] });
    await expect(fs.stat(root)).rejects.toThrow();

    await repo.reserveBackupId({ label: 'daily' });
    const info = await new Repository(store).info();
    expect(info).toMatchObject({ formatVersion: 1, createdBy: { host: os.hostname() } });
    expect(Number.isNaN(Date.parse(info!.createdAt))).toBe(false);
  });

  it('refuses a repository written in a newer format', async () => {
    await store.put('lifeline.json', JSON.stringify({ formatVersion: 2, createdAt: 'x' }));
    expect((await lifelineError(repo.listBackups())).code).toBe('REPO_VERSION');
    expect((await lifelineError(repo.initialize())).code).toBe('REPO_VERSION');
  });

  it('a corrupt lifeline.json is REPO_CORRUPT naming the file', async () => {
    await store.put('lifeline.json', '{nope');
    const error = await lifelineError(repo.listBackups());
    expect(error.code).toBe('REPO_CORRUPT');
    expect(error.message).toContain(`${root}/lifeline.json`);
  });

  it('will not turn an unrelated folder into a repository', async () => {
    await fs.mkdir(root, { recursive: true });
    await fs.writeFile(path.join(root, 'notes.txt'), 'mine');
    const error = await lifelineError(repo.reserveBackupId({ label: 'daily' }));
    expect(error.code).toBe('USAGE');
    expect(error.message).toContain('notes.txt');
    expect(await fs.readdir(root)).toEqual(['notes.txt']);
  });

  it('openRepository opens a directory URL', async () => {
    const opened = await openRepository(root, { minimumVerifiedLevel: 'restore' });
    expect(opened.location).toBe(root);
    expect(opened.minimumVerifiedLevel).toBe('restore');
  });
});

describe('keys', () => {
  it('follow the DESIGN.md layout', () => {
    expect(backupKey('20261124T020000Z-daily', 'data.dump.zst')).toBe('backups/20261124T020000Z-daily/data.dump.zst');
    expect(manifestKey('20261124T020000Z-daily')).toBe('backups/20261124T020000Z-daily/manifest.json');
    expect(walKey(1, '000000010000000000000003')).toBe('wal/00000001/000000010000000000000003');
    expect(walKey(0x1a, '0000001A.history')).toBe('wal/0000001A/0000001A.history');
    expect(auditKey('run-1')).toBe('audit/run-1.jsonl');
    expect(() => backupKey('../x', 'data')).toThrow();
    expect(() => backupKey('20261124T020000Z-daily', '../data')).toThrow();
    expect(() => walKey(1, 'a/b')).toThrow();
  });
});

describe('manifests', () => {
  it('are written last and read back', async () => {
    const id = await makeBackup(repo, '2026-11-24T02:00:00.000Z');
    expect((await repo.readManifest(id)).id).toBe(id);
    expect((await readAll(await repo.getBackupObject(id, 'data.dump'))).toString()).toBe('data');
  });

  it('are refused when an object they name is missing or of another size', async () => {
    const id = await repo.reserveBackupId({ label: 'daily' });
    expect((await lifelineError(repo.writeManifest(sampleManifest(id)))).message).toMatch(/missing/);
    await repo.putBackupObject(id, 'data.dump', 'longer data');
    expect((await lifelineError(repo.writeManifest(sampleManifest(id)))).code).toBe('BACKUP_FAILED');
    expect(await store.head(manifestKey(id))).toBeUndefined();
  });

  it('are never overwritten', async () => {
    const id = await makeBackup(repo, '2026-11-24T02:00:00.000Z');
    expect((await lifelineError(repo.writeManifest(sampleManifest(id, { operator: 'someone else' })))).code).toBe('BACKUP_FAILED');
    expect((await repo.readManifest(id)).operator).toBe('tester');
  });

  it('an invalid manifest is a bug, not written', async () => {
    const id = await repo.reserveBackupId({ label: 'daily' });
    await expect(repo.writeManifest({ ...sampleManifest(id), objects: [] })).rejects.toThrow(/Invalid manifest/);
  });

  it('missing → BACKUP_NOT_FOUND; bad JSON or schema → REPO_CORRUPT naming the file', async () => {
    expect((await lifelineError(repo.readManifest('20261124T020000Z-daily'))).code).toBe('BACKUP_NOT_FOUND');
    await store.put(manifestKey('20261124T020000Z-daily'), '{"formatVersion": 1');
    const bad = await lifelineError(repo.readManifest('20261124T020000Z-daily'));
    expect(bad.code).toBe('REPO_CORRUPT');
    expect(bad.message).toContain(`${root}/backups/20261124T020000Z-daily/manifest.json`);
    await store.put(manifestKey('20261124T020000Z-daily'), JSON.stringify({ formatVersion: 1, id: '20261124T020000Z-daily' }));
    expect((await lifelineError(repo.readManifest('20261124T020000Z-daily'))).code).toBe('REPO_CORRUPT');
  });
});

describe('listing and resolving', () => {
  let older: string;
  let newer: string;
  let newest: string;

  beforeEach(async () => {
    older = await makeBackup(repo, '2026-11-22T02:00:00.000Z');
    newer = await makeBackup(repo, '2026-11-23T02:00:00.000Z');
    newest = await makeBackup(repo, '2026-11-24T02:00:00.000Z', 'manual');
  });

  it('lists newest first with sizes; a corrupt manifest is a problem, not a failure', async () => {
    await store.put(manifestKey('20261125T020000Z-daily'), 'garbage');
    const { backups, problems } = await repo.listBackups();
    expect(backups.map((b) => b.id)).toEqual([newest, newer, older]);
    expect(backups[0]).toMatchObject({ id: newest, kind: 'logical', label: 'manual', sizeBytes: 4, verified: false });
    expect(problems).toEqual([
      expect.objectContaining({ id: '20261125T020000Z-daily', code: 'REPO_CORRUPT', key: 'backups/20261125T020000Z-daily/manifest.json' }),
    ]);
  });

  it('resolves an id, a unique prefix and latest', async () => {
    expect((await repo.resolveBackup(newer)).id).toBe(newer);
    expect((await repo.resolveBackup('20261123')).id).toBe(newer);
    expect((await repo.resolveBackup('latest')).id).toBe(newest);
  });

  it('an ambiguous prefix names the candidates', async () => {
    const error = await lifelineError(repo.resolveBackup('202611'));
    expect(error.code).toBe('BACKUP_AMBIGUOUS');
    for (const id of [older, newer, newest]) expect(error.message).toContain(id);
  });

  it('an unknown id is BACKUP_NOT_FOUND pointing at lifeline list; bad input is USAGE', async () => {
    const error = await lifelineError(repo.resolveBackup('20270101'));
    expect(error.code).toBe('BACKUP_NOT_FOUND');
    expect(error.hint).toContain('lifeline list');
    expect((await lifelineError(repo.resolveBackup('../../etc/passwd'))).code).toBe('USAGE');
  });

  it('latest-verified needs a passed verification at the minimum level (archive by default)', async () => {
    const none = await lifelineError(repo.resolveBackup('latest-verified'));
    expect(none.code).toBe('BACKUP_NOT_FOUND');
    expect(none.hint).toContain('lifeline verify');

    await repo.addVerification(newest, verification(newest, 'integrity', true, 'integrity'));
    await repo.addVerification(newer, verification(newer, 'restore', false, 'archive'));
    expect((await repo.resolveBackup('latest-verified')).id).toBe(newer);

    // A stricter minimum: only restore or better counts.
    const strict = new Repository(store, { minimumVerifiedLevel: 'restore' } satisfies RepositoryOptions);
    expect((await lifelineError(strict.resolveBackup('latest-verified'))).code).toBe('BACKUP_NOT_FOUND');
    await strict.addVerification(older, verification(older, 'consistency', true, 'consistency'));
    expect((await strict.resolveBackup('latest-verified')).id).toBe(older);
  });

  it('latest on an empty repository suggests taking a backup', async () => {
    const empty = new Repository(new LocalStore({ root: path.join(dir, 'empty') }));
    const error = await lifelineError(empty.resolveBackup('latest'));
    expect(error.code).toBe('BACKUP_NOT_FOUND');
    expect(error.hint).toContain('lifeline backup');
  });
});

describe('verification records', () => {
  it('are kept, ordered, and give the highest level passed', async () => {
    const id = await makeBackup(repo, '2026-11-24T02:00:00.000Z');
    expect(await repo.verifiedLevel(id)).toBeUndefined();
    const first = await repo.addVerification(id, { ...verification(id, 'archive', true), finishedAt: '2026-11-24T03:00:00.000Z' });
    const second = await repo.addVerification(id, { ...verification(id, 'archive', true), finishedAt: '2026-11-24T03:00:00.000Z' });
    expect(first).toBe(`backups/${id}/verify/20261124T030000.000Z.json`);
    expect(second).not.toBe(first);
    await repo.addVerification(id, verification(id, 'consistency', false, 'restore'));
    const records = await repo.verifications(id);
    expect(records).toHaveLength(3);
    expect(records[0]).toMatchObject({ formatVersion: 1, requestedLevel: 'archive', ok: true });
    expect(await repo.verifiedLevel(id)).toBe('restore');
    const [entry] = (await repo.listBackups()).backups;
    expect(entry).toMatchObject({ verifiedLevel: 'restore', verified: true });
  });

  it('a failed run with nothing passed proves nothing', async () => {
    const id = await makeBackup(repo, '2026-11-24T02:00:00.000Z');
    await repo.addVerification(id, verification(id, 'archive', false));
    expect(await repo.verifiedLevel(id)).toBeUndefined();
  });

  it('need an existing backup, and a corrupt record is skipped and reported', async () => {
    expect((await lifelineError(repo.addVerification('20261124T020000Z-daily', verification('20261124T020000Z-daily', 'archive', true)))).code).toBe(
      'BACKUP_NOT_FOUND',
    );
    const id = await makeBackup(repo, '2026-11-24T02:00:00.000Z');
    await store.put(`backups/${id}/verify/20261124T040000.000Z.json`, '{"requestedLevel": "consistency", "ok": true}');
    expect(await repo.verifiedLevel(id)).toBeUndefined();
    const { backups, problems } = await repo.listBackups();
    expect(backups).toHaveLength(1);
    expect(problems).toEqual([expect.objectContaining({ code: 'REPO_CORRUPT', key: `backups/${id}/verify/20261124T040000.000Z.json` })]);
  });
});

/** Records every delete and can fail the n-th one, like a process killed mid-delete. */
function recordingStore(inner: Store, failDeleteNumber?: number): { store: Store; deletes: string[][] } {
  const deletes: string[][] = [];
  const store: Store = {
    location: inner.location,
    put: (key, body, options) => inner.put(key, body, options),
    get: (key, options) => inner.get(key, options),
    head: (key) => inner.head(key),
    list: (prefix, options) => inner.list(prefix, options),
    usage: () => inner.usage(),
    deletePartial: (prefix, options) => inner.deletePartial(prefix, options),
    delete: async (keys) => {
      deletes.push(keys);
      if (deletes.length === failDeleteNumber) throw new Error('killed');
      return inner.delete(keys);
    },
  };
  return { store, deletes };
}

describe('deleting', () => {
  it('deletes the manifest first, then the objects, the reservation last', async () => {
    const id = await makeBackup(repo, '2026-11-24T02:00:00.000Z');
    await repo.addVerification(id, verification(id, 'archive', true));
    const { store: spy, deletes } = recordingStore(store);
    const result = await new Repository(spy).deleteBackup(id);
    expect(deletes[0]).toEqual([manifestKey(id)]);
    expect(deletes.at(-1)).toEqual([`backups/${id}/.reserved`]);
    expect(result.deleted).toHaveLength(4);
    expect(await store.list('backups/')).toEqual([]);
    expect((await lifelineError(repo.deleteBackup(id))).code).toBe('BACKUP_NOT_FOUND');
  });

  it('an interrupted delete leaves no backup, only a leftover that sweepIncomplete finds', async () => {
    const keep = await makeBackup(repo, '2026-11-23T02:00:00.000Z');
    const id = await makeBackup(repo, '2026-11-24T02:00:00.000Z');
    const { store: spy } = recordingStore(store, 2);
    await expect(new Repository(spy).deleteBackup(id)).rejects.toThrow('killed');
    expect((await repo.listBackups()).backups.map((b) => b.id)).toEqual([keep]);
    expect((await repo.resolveBackup('latest')).id).toBe(keep);

    // Reserved by this (live) process: not a leftover however old.
    expect(await repo.sweepIncomplete({ olderThanMinutes: 0 })).toEqual([]);
  });
});

describe('sweepIncomplete', () => {
  it('finds old folders without manifest whose reserving process is gone', async () => {
    const done = await makeBackup(repo, '2026-11-23T02:00:00.000Z');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const killed = '20261124T020000Z-daily';
    await store.put(`backups/${killed}/.reserved`, JSON.stringify({ pid: dead, host: os.hostname(), reservedAt: new Date().toISOString() }));
    await store.put(`backups/${killed}/data.dump`, 'partial');
    const running = await repo.reserveBackupId({ label: 'manual' });

    const later = new Date(Date.now() + 2 * 3600_000);
    const found = await repo.sweepIncomplete({ olderThanMinutes: 60, now: later });
    expect(found.map((f) => f.id)).toEqual([killed]);
    expect(found[0].keys).toEqual([`backups/${killed}/.reserved`, `backups/${killed}/data.dump`]);
    expect(found[0].reservation?.pid).toBe(dead);
    expect(found.map((f) => f.id)).not.toContain(running);
    expect(found.map((f) => f.id)).not.toContain(done);

    // Its process is provably dead: a leftover at once, however recent.
    expect((await repo.sweepIncomplete({ olderThanMinutes: 60 })).map((f) => f.id)).toEqual([killed]);
    // Another host's (liveness unknown): only once old.
    const remote = '20261124T030000Z-daily';
    await store.put(`backups/${remote}/.reserved`, JSON.stringify({ pid: dead, host: 'elsewhere', reservedAt: new Date().toISOString() }));
    expect((await repo.sweepIncomplete({ olderThanMinutes: 60 })).map((f) => f.id)).toEqual([killed]);
    expect((await repo.sweepIncomplete({ olderThanMinutes: 60, now: later })).map((f) => f.id)).toEqual([remote, killed]);
    await repo.deleteBackup(remote);

    // The killed backup's unfinished upload goes with it.
    await fs.writeFile(path.join(root, 'backups', killed, '.tmp-data.dump.zst-0123456789ab'), 'half');
    await repo.deleteBackup(killed);
    expect(await store.list(`backups/${killed}/`)).toEqual([]);
    await expect(fs.stat(path.join(root, 'backups', killed))).rejects.toThrow();
  });
});
