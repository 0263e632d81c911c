import { execa } from 'execa';
import { withClient } from '../../src/postgres/client.js';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, catchTool, count, databaseNames, expectClearError, expectConsistent, faultSeed, killAfterBytes, prng, startFaultEnv, waitUntil, type FaultEnv } from './helpers.js';

/*
 * pg_dump, pg_basebackup and pg_restore die (SIGKILL) at a random point of their stream, picked
 * from a seeded PRNG: the seed is in the test name, FAULT_SEED=<seed> replays the same points.
 * The point is measured in bytes the tool itself has written or read (/proc/<pid>/io), against
 * the size of the same stream in the backup taken before.
 */
const seed = faultSeed();
const random = prng(seed);
/** A fraction of the stream, away from both ends so the tool is still running when it is reached. */
const point = () => 0.05 + random() * 0.6;

let env: FaultEnv;
let logical: string;
let base: string;
/** Uncompressed sizes of the previous backups' streams (what the tools write or read). */
let dumpBytes: number;
let tarBytes: number;

async function plainSize(object: string): Promise<number> {
  const { stdout } = await execa('sh', ['-c', 'zstd -dc "$1" | wc -c', 'sh', object]);
  return Number(stdout.trim());
}

function objectPath(id: string, prefix: string): string {
  const dir = path.join(env.repo, 'backups', id);
  return path.join(dir, fs.readdirSync(dir).find((name) => name.startsWith(prefix))!);
}

/** Starts `args`, waits until `comm` has moved `fraction` of `total` bytes, SIGKILLs it. */
async function killMidway(args: string[], comm: string, field: 'wchar' | 'rchar', total: number, fraction: number) {
  const run = env.spawn(...args);
  let exited = false;
  void run.child.then(() => (exited = true));
  const pid = await catchTool(run.child.pid!, comm, () => exited);
  await killAfterBytes(pid, field, Math.round(total * fraction));
  const result = await run.child;
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout ?? ''), stderr: run.stderr() };
}

beforeAll(async () => {
  env = await startFaultEnv({ archiving: true, fillMb: 8 });
  logical = await env.backup('--verify', 'none');
  base = await env.backup('--physical', '--verify', 'none');
  [dumpBytes, tarBytes] = await Promise.all([plainSize(objectPath(logical, 'data.dump')), plainSize(objectPath(base, 'base.tar'))]);
}, 180_000);
afterAll(() => env?.cleanup());

describe(`tools killed at a random point (FAULT_SEED=${seed})`, { timeout: 120_000 }, () => {
  it(`pg_dump (seed ${seed})`, async () => {
    const fraction = point();
    const result = await killMidway(['backup', '--verify', 'none'], 'pg_dump', 'wchar', dumpBytes, fraction);
    expectClearError(result, 1, /pg_dump was killed \(SIGKILL\); no backup was recorded/);
    await expectConsistent(env, [logical, base]);
    expect(fs.readdirSync(path.join(env.repo, 'backups')).sort()).toEqual([logical, base].sort());
  });

  it(`pg_basebackup (seed ${seed})`, async () => {
    const fraction = point();
    const result = await killMidway(['backup', '--physical', '--verify', 'none'], 'pg_basebackup', 'wchar', tarBytes, fraction);
    expectClearError(result, 1, /pg_basebackup was killed \(SIGKILL\); no backup was recorded/);
    await expectConsistent(env, [logical, base]);
    expect(fs.readdirSync(path.join(env.repo, 'backups')).sort()).toEqual([logical, base].sort());
    // The server is not left in backup mode: its walsender went with pg_basebackup.
    await waitUntil(async () => (await withClient(env.pg.conn('postgres'), (c) => c.query('SELECT 1 FROM pg_stat_progress_basebackup'))).rowCount === 0, 'the server to end the base backup');
  });

  it(`pg_restore (seed ${seed}): the live database is untouched and the half-restored copy dropped`, async () => {
    const before = await count(env.conn, 'notes');
    const fraction = point();
    const result = await killMidway(['restore', logical, '--yes'], 'pg_restore', 'rchar', dumpBytes, fraction);
    expectClearError(result, 1, /pg_restore failed: killed by SIGKILL/);
    expect(await count(env.conn, 'notes')).toBe(before);
    expect((await databaseNames(env.pg)).filter((name) => name.startsWith('shop__'))).toEqual([]);
    // Nothing lost: the same backup restores completely afterwards.
    const into = await env.cli('restore', logical, '--into', 'shop_after_kill', '--yes');
    expect(into.exitCode, into.stderr).toBe(0);
    expect(await count(env.pg.conn('shop_after_kill'), 'notes')).toBe(before);
  });
});

function readIfThere(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

describe('lifeline itself killed', { timeout: 120_000 }, () => {
  it('a verification SIGKILLed with its disposable cluster running: the next one stops and removes that cluster', async () => {
    const scratch = path.join(env.home.home, 'data', 'scratch');
    const run = env.spawn('verify', logical, '--level', 'restore');
    // The running server's lock file (initdb's bootstrap writes one too, without "ready").
    const postmaster = await waitUntil(() => {
      const dir = fs.existsSync(scratch) ? fs.readdirSync(scratch).find((name) => name.startsWith('verify-')) : undefined;
      const lines = dir ? readIfThere(path.join(scratch, dir, 'data', 'postmaster.pid')).split('\n') : [];
      return lines[7]?.trim() === 'ready' ? Number(lines[0]) : undefined;
    }, 'the disposable cluster to run');
    process.kill(run.child.pid!, 'SIGKILL');
    await run.child;
    expect(alive(postmaster)).toBe(true); // orphaned: nobody will stop it but the next lifeline

    const next = await env.cli('verify', logical, '--level', 'restore');
    expect(next.exitCode, next.stderr).toBe(0);
    await waitUntil(() => !alive(postmaster), 'the orphaned server to stop', 30_000);
    expect(fs.readdirSync(scratch)).toEqual([]);
  });
});
