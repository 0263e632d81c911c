import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '../../src/storage/local-store.js';
import { acquireLock, LOCK_KEY, readLockHolder, type LockHolder } from '../../src/storage/lock.js';
import { currentProcess } from '../../src/storage/process-identity.js';
import { lifelineError, makeTempDir } from './helpers.js';

let dir: string;
let store: LocalStore;

beforeEach(async () => {
  dir = await makeTempDir();
  store = new LocalStore({ root: path.join(dir, 'repo') });
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

function holder(overrides: Partial<LockHolder>): LockHolder {
  const me = currentProcess();
  return {
    token: 'old-token',
    pid: me.pid,
    host: me.host,
    ...(me.bootId ? { bootId: me.bootId } : {}),
    startedAt: '2026-11-24T02:00:00.000Z',
    command: 'lifeline backup',
    ...overrides,
  };
}

describe('repository lock', () => {
  it('is a lock file naming its holder, and release removes it', async () => {
    const release = await acquireLock(store, { command: 'lifeline backup' });
    const held = await readLockHolder(store);
    expect(held).toMatchObject({ pid: process.pid, host: os.hostname(), command: 'lifeline backup' });
    expect((await fs.stat(path.join(store.location, 'lock'))).mode & 0o777).toBe(0o600);
    await release();
    await release(); // twice is harmless
    expect(await readLockHolder(store)).toBeUndefined();
    await (await acquireLock(store, { command: 'again' }))();
  });

  it('a live holder makes the next writer fail with REPO_LOCKED naming pid, command and since', async () => {
    const release = await acquireLock(store, { command: 'lifeline backup' });
    const error = await lifelineError(acquireLock(store, { command: 'lifeline prune' }));
    expect(error.code).toBe('REPO_LOCKED');
    expect(error.message).toContain(`pid ${process.pid}`);
    expect(error.message).toContain('lifeline backup');
    expect(error.message).toMatch(/since \d{4}-/);
    expect(error.hint).toBeTruthy();
    await release();
  });

  it('a waiting writer gets the lock once the holder releases it', async () => {
    const release = await acquireLock(store, { command: 'lifeline backup' });
    const seen: LockHolder[] = [];
    const second = await acquireLock(store, {
      command: 'lifeline verify',
      wait: 30_000,
      onWaiting: (who) => {
        seen.push(who);
        void release();
      },
    });
    expect(seen).toHaveLength(1);
    expect(seen[0].command).toBe('lifeline backup');
    expect(await readLockHolder(store)).toMatchObject({ command: 'lifeline verify' });
    await second();
  });

  it('waiting can be interrupted', async () => {
    const release = await acquireLock(store, { command: 'lifeline backup' });
    const controller = new AbortController();
    const error = await lifelineError(
      acquireLock(store, { command: 'x', wait: 60_000, signal: controller.signal, onWaiting: () => controller.abort() }),
    );
    expect(error.code).toBe('ABORTED');
    await release();
  });

  it('a lock whose process died on this host is taken over', async () => {
    await store.put(LOCK_KEY, JSON.stringify(holder({ pid: deadPid() })));
    const release = await acquireLock(store, { command: 'lifeline backup' });
    expect(await readLockHolder(store)).toMatchObject({ pid: process.pid, command: 'lifeline backup' });
    await release();
    expect(await store.list('')).toEqual([]); // takeover claims cleaned up
  });

  it('a lock from an earlier boot is taken over', async () => {
    if (!currentProcess().bootId) return;
    await store.put(LOCK_KEY, JSON.stringify(holder({ bootId: 'another-boot' })));
    await (await acquireLock(store, { command: 'lifeline backup' }))();
  });

  it('of many contenders for a stale lock exactly one wins', async () => {
    await store.put(LOCK_KEY, JSON.stringify(holder({ pid: deadPid() })));
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => acquireLock(store, { command: `contender ${i}` })));
    const winners = results.filter((r) => r.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'REPO_LOCKED' });
    await (winners[0] as PromiseFulfilledResult<() => Promise<void>>).value();
  });

  it("another host's lock is never taken over", async () => {
    await store.put(LOCK_KEY, JSON.stringify(holder({ host: 'db-backup-2', pid: deadPid() })));
    const error = await lifelineError(acquireLock(store, { command: 'lifeline backup' }));
    expect(error.code).toBe('REPO_LOCKED');
    expect(error.message).toContain('db-backup-2');
    expect(error.hint).toContain(`${store.location}/lock`);
  });

  it('release does not remove a lock someone else holds', async () => {
    const release = await acquireLock(store, { command: 'first' });
    await store.delete([LOCK_KEY]);
    await store.put(LOCK_KEY, JSON.stringify(holder({ token: 'someone-else' })));
    await release();
    expect(await readLockHolder(store)).toMatchObject({ token: 'someone-else' });
  });

  it('an unreadable lock is reported, not ignored', async () => {
    await store.put(LOCK_KEY, 'garbage');
    const error = await lifelineError(acquireLock(store, { command: 'x' }));
    expect(error.code).toBe('REPO_LOCKED');
    expect(error.message).toMatch(/unreadable/);
  });
});
