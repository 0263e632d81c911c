import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore, resolveGroup } from '../../src/storage/local-store.js';
import { openStore } from '../../src/storage/open-store.js';
import { shareRepositoryWithServer } from '../../src/engine/wal/archiving.js';
import { readStoreSettings } from '../../src/storage/s3/settings.js';
import { lifelineError, makeTempDir } from './helpers.js';

/*
 * Repository modes with a real second OS user: `postgres` (archive_command's user) reads and
 * writes what lifeline (root here) created in shared-group mode, and cannot in private mode.
 */
const asRoot = process.getuid?.() === 0;
const hasPostgres = spawnSync('id', ['postgres']).status === 0;
const other = (command: string) => spawnSync('runuser', ['-u', 'postgres', '--', 'sh', '-c', command], { encoding: 'utf8' });

let base: string;
beforeAll(async () => {
  base = await makeTempDir('lifeline-modes-');
  await fs.chmod(base, 0o755); // let the other user reach the repositories inside
});
afterAll(() => fs.rm(base, { recursive: true, force: true }));

const modeOf = async (p: string) => (await fs.stat(p)).mode & 0o7777;

describe('repository modes', () => {
  it('private (the default): 0600 files, 0700 folders; another user can neither read nor add', async () => {
    const store = new LocalStore({ root: path.join(base, 'private') });
    expect(store.mode).toBe('private');
    await store.put('backups/id/data.dump', 'secret');
    expect(await modeOf(store.location)).toBe(0o700);
    expect(await modeOf(path.join(store.location, 'backups', 'id'))).toBe(0o700);
    expect(await modeOf(path.join(store.location, 'backups', 'id', 'data.dump'))).toBe(0o600);
    if (asRoot && hasPostgres) {
      expect(other(`cat ${store.location}/backups/id/data.dump`).status).not.toBe(0);
      expect(other(`echo x > ${store.location}/backups/id/other`).status).not.toBe(0);
    }
  });

  it.skipIf(!asRoot || !hasPostgres)('shared-group: 0660 files, 2770 folders owned by the group; its members read and add', async () => {
    const gid = await resolveGroup('postgres');
    const store = new LocalStore({ root: path.join(base, 'shared'), mode: 'shared-group', group: 'postgres' });
    const previous = process.umask(0o077); // a strict umask changes nothing
    try {
      await store.put('backups/id/data.dump', 'shared');
      await store.put('lifeline.json', '{}', { ifNotExists: true });
    } finally {
      process.umask(previous);
    }
    for (const dir of [store.location, path.join(store.location, 'backups'), path.join(store.location, 'backups', 'id')]) {
      expect(await modeOf(dir)).toBe(0o2770);
      expect((await fs.stat(dir)).gid).toBe(gid);
    }
    for (const file of ['backups/id/data.dump', 'lifeline.json']) {
      expect(await modeOf(path.join(store.location, file))).toBe(0o660);
      expect((await fs.stat(path.join(store.location, file))).gid).toBe(gid);
    }
    // The other user (a member of the group) reads it and writes next to it.
    const read = other(`cat ${store.location}/backups/id/data.dump`);
    expect(read.stdout).toBe('shared');
    expect(other(`mkdir ${store.location}/wal && echo x > ${store.location}/wal/seg`).status).toBe(0);
    // ...and what lifeline then writes there is still the group's.
    await store.put('wal/other', 'y');
    expect((await fs.stat(path.join(store.location, 'wal', 'other'))).gid).toBe(gid);
  });

  it.skipIf(!asRoot || !hasPostgres)('run as root in a repository shared with the server user, what root adds stays that user\'s', async () => {
    const store = new LocalStore({ root: path.join(base, 'served') });
    await shareRepositoryWithServer(store, store.location);
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout);
    // A root wal-push of a new timeline's history file (the server had archived only timeline 1),
    // and a root backup.
    await store.put('wal/00000002/00000002.history.zst', 'history');
    await store.put('backups/id/data.dump', 'x');
    for (const p of ['wal/00000002', 'wal/00000002/00000002.history.zst', 'backups', 'backups/id/data.dump']) expect((await fs.stat(path.join(store.location, p))).uid, p).toBe(uid);
    // The server's archive_command can still add to that timeline.
    expect(other(`echo x > ${store.location}/wal/00000002/000000020000000000000004.zst`).status).toBe(0);
  });

  it('refuses shared-group without a group, and a group that does not exist', async () => {
    expect(() => new LocalStore({ root: path.join(base, 'x'), mode: 'shared-group' })).toThrow(/repository.group/);
    const store = new LocalStore({ root: path.join(base, 'nogroup'), mode: 'shared-group', group: 'no-such-group-lifeline' });
    const error = await lifelineError(store.put('a', 'b'));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('no-such-group-lifeline');
  });

  it('openStore applies the configured mode (read without conf or zod)', async () => {
    const home = path.join(base, 'home');
    await fs.mkdir(path.join(home, 'config'), { recursive: true });
    await fs.writeFile(path.join(home, 'config', 'config.json'), JSON.stringify({ repository: { mode: 'shared-group', group: 0 } }));
    const settings = readStoreSettings({ LIFELINE_HOME: home });
    expect(settings).toEqual({ mode: 'shared-group', group: 0 });
    const store = (await openStore(path.join(base, 'configured'), settings)) as LocalStore;
    expect(store.mode).toBe('shared-group');
    await fs.writeFile(path.join(home, 'config', 'config.json'), JSON.stringify({ repository: { mode: 'open' } }));
    expect(() => readStoreSettings({ LIFELINE_HOME: home })).toThrow(/private or shared-group/);
  });
});
