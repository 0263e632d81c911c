import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import {
  alive,
  count,
  databaseNames,
  expectClearError,
  expectConsistent,
  filesUnder,
  outcome,
  spawnAndCatch,
  startFaultEnv,
  waitUntil,
  type FaultEnv,
} from './helpers.js';

/*
 * Two lifeline processes on one repository or one target, started for real and at the same time:
 * writers are serialised (--wait-lock) or refused by the repository lock, two restores of one
 * database by the target lock, and a lock whose holder was SIGKILLed is taken over. The first
 * process is held still at a known point (its pg_dump / pg_restore stopped) instead of racing.
 */
let env: FaultEnv;
let lockFile: string;
let earlier: string[];

beforeAll(async () => {
  env = await startFaultEnv({ fillMb: 3 });
  lockFile = path.join(env.repo, 'lock');
  // Two daily backups, and a policy that expires all but the newest: prune has work to do.
  earlier = [await env.backup('--verify', 'none'), await env.backup('--verify', 'none')];
  const policy = await env.cli('config', 'set', 'policy.retention.daily', JSON.stringify({ days: 0, keepLast: 1 }));
  expect(policy.exitCode, policy.stderr).toBe(0);
}, 120_000);
afterAll(() => env?.cleanup());

const lockHolder = () => JSON.parse(fs.readFileSync(lockFile, 'utf8')) as { pid: number; command: string };

describe('concurrent processes', { timeout: 120_000 }, () => {
  it('a second backup and a prune are refused while a backup holds the repository; with --wait-lock they queue behind it', async () => {
    const first = await spawnAndCatch(env, ['--json', 'backup', '--verify', 'none'], 'pg_dump');
    await waitUntil(() => fs.existsSync(lockFile), 'the repository lock');
    expect(lockHolder()).toMatchObject({ pid: first.run.child.pid, command: 'lifeline backup (daily)' });

    const backup = await env.cli('backup', '--verify', 'none');
    expectClearError(backup, 1, new RegExp(`repository is locked by lifeline backup \\(daily\\) \\(pid ${first.run.child.pid} `));
    const prune = await env.cli('prune', '--yes');
    expectClearError(prune, 1, /repository is locked by lifeline backup/);

    // Queued: both wait for the lock, then run one after the other.
    const queued = env.spawn('--json', 'prune', '--yes', '--wait-lock', '60');
    await queued.waitFor(/waiting for lifeline backup \(daily\) \(pid \d+\) to release the repository/);
    process.kill(first.pid, 'SIGCONT');
    const done = await outcome(first.run);
    expect(done.exitCode, done.stderr).toBe(0);
    const taken = JSON.parse(done.stdout).backup.id as string;
    const pruned = await outcome(queued);
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    // The prune planned after the backup finished: the new backup is the newest, kept.
    expect(JSON.parse(pruned.stdout).prune.deleted.sort()).toEqual([...earlier].sort());
    await expectConsistent(env, [taken]);
    earlier = [taken];
  });

  it('a lock whose holder was SIGKILLed is taken over by the next backup; prune then removes the leftover', async () => {
    const killed = await spawnAndCatch(env, ['backup', '--verify', 'none'], 'pg_dump');
    await waitUntil(() => fs.existsSync(lockFile), 'the repository lock');
    const holder = lockHolder();
    process.kill(killed.run.child.pid!, 'SIGKILL');
    process.kill(killed.pid, 'SIGKILL'); // its pg_dump, orphaned and stopped
    await killed.run.child;
    expect(alive(holder.pid)).toBe(false);
    const leftover = fs.readdirSync(path.join(env.repo, 'backups')).find((id) => !earlier.includes(id))!;
    expect(leftover).toBeDefined();

    const next = await env.cli('--json', 'backup', '--verify', 'none');
    expect(next.exitCode, next.stderr).toBe(0);
    const taken = JSON.parse(next.stdout).backup.id as string;
    expect(fs.existsSync(lockFile)).toBe(false);

    // The killed backup is invisible (no manifest), and the next prune clears it.
    const list = await env.cli('--json', 'list');
    expect(JSON.parse(list.stdout).backups.map((b: { id: string }) => b.id).sort()).toEqual([...earlier, taken].sort());
    const prune = await env.cli('--json', 'prune', '--yes');
    expect(prune.exitCode, prune.stderr).toBe(0);
    expect(JSON.parse(prune.stdout).prune.leftovers).toEqual([expect.objectContaining({ id: leftover, reason: expect.stringMatching(/no longer runs/) })]);
    expect(filesUnder(path.join(env.repo, 'backups', leftover))).toEqual([]);
    await expectConsistent(env, [taken]);
    earlier = [taken];
  });

  it('two restores of one database: the second is refused at once; after a SIGKILL the server frees the lock', async () => {
    const before = await count(env.conn, 'notes');
    const first = await spawnAndCatch(env, ['restore', earlier[0], '--yes'], 'pg_restore');
    const second = await env.cli('restore', earlier[0], '--yes');
    expectClearError(second, 1, new RegExp(`Another restore of "shop" is running \\(lifeline restore of shop \\(pid ${first.run.child.pid}\\)`));
    expect(second.stderr).toMatch(/hint: Nothing was changed/);

    // The holder dies outright: its session ends, the server drops the advisory lock with it.
    process.kill(first.run.child.pid!, 'SIGKILL');
    process.kill(first.pid, 'SIGKILL');
    await first.run.child;
    const [halfRestored] = await waitUntil(async () => {
      const names = (await databaseNames(env.pg)).filter((name) => name.startsWith('shop__restore_'));
      return names.length ? names : undefined;
    }, 'the half-restored database');
    await withClient(env.pg.conn('postgres'), (c) => c.query(`DROP DATABASE "${halfRestored}" WITH (FORCE)`));
    const third = await env.cli('restore', earlier[0], '--yes');
    expect(third.exitCode, third.stderr).toBe(0);
    expect(await count(env.conn, 'notes')).toBe(before);
  });
});
