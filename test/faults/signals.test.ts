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
  faultSeed,
  outcome,
  prng,
  runUntilBytes,
  serverNow,
  spawnAndCatch,
  startFaultEnv,
  switchAndArchive,
  type FaultEnv,
} from './helpers.js';

/*
 * SIGINT (Ctrl-C) and SIGTERM (a service manager) while a backup, a restore and a pitr are
 * mid-stream. The tool doing the work is caught and held at a seeded random point, the CLI gets
 * the signal, then the tool is let go. Every case: exit 130 (SIGINT) or 143 (SIGTERM) after the
 * cleanup, no half-written backup, the target database as it was, no scratch cluster left.
 */
const seed = faultSeed();
const random = prng(seed);
const EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

let env: FaultEnv;
let logical: string;
let base: string;
let target: string;
let dumpBytes: number;

beforeAll(async () => {
  env = await startFaultEnv({ archiving: true, fillMb: 6 });
  logical = await env.backup('--verify', 'none');
  base = await env.backup('--physical', '--verify', 'none');
  dumpBytes = Number((await withClient(env.conn, (c) => c.query<{ n: string }>("SELECT pg_total_relation_size('notes') AS n"))).rows[0].n);
  await withClient(env.conn, (c) => c.query("CREATE TABLE phases (id int, phase text); INSERT INTO phases VALUES (1, 'A')"));
  await switchAndArchive(env);
  target = await serverNow(env.conn);
  await withClient(env.conn, (c) => c.query("INSERT INTO phases VALUES (2, 'B')"));
  await switchAndArchive(env);
}, 180_000);
afterAll(() => env?.cleanup());

/** Holds `comm` at a random point of its stream, signals the CLI, lets the tool go; returns the outcome. */
async function interrupt(args: string[], comm: string, field: 'wchar' | 'rchar', total: number, signal: NodeJS.Signals) {
  const { run, pid } = await spawnAndCatch(env, args, comm);
  await runUntilBytes(pid, field, Math.round(total * (0.05 + random() * 0.5)));
  run.child.kill(signal);
  await run.waitFor(new RegExp(`${signal} received: stopping safely`));
  process.kill(pid, 'SIGCONT');
  const result = await outcome(run);
  expect(alive(pid), `${comm} still runs`).toBe(false);
  return result;
}

const scratchLeft = () => {
  const scratch = path.join(env.home.home, 'data', 'scratch');
  return fs.existsSync(scratch) ? fs.readdirSync(scratch) : [];
};

describe(`interrupted by a signal (FAULT_SEED=${seed})`, { timeout: 120_000 }, () => {
  // SIGTERM's own exit code and cleanup are proven by the restore and pitr cases below.
  it.each(['SIGINT'] as const)(`backup, %s mid-dump (seed ${seed}): nothing recorded, exit 130/143`, async (signal) => {
    const result = await interrupt(['backup', '--verify', 'none'], 'pg_dump', 'wchar', dumpBytes, signal);
    expectClearError(result, EXIT[signal], new RegExp(`Interrupted by ${signal}`));
    await expectConsistent(env, [logical, base]);
    expect(fs.readdirSync(path.join(env.repo, 'backups')).sort()).toEqual([logical, base].sort());
  });

  // SIGINT during a restore: test/engine/restore-interrupt.test.ts.
  it.each(['SIGTERM'] as const)(`restore, %s mid-pg_restore (seed ${seed}): the live database untouched, the copy dropped`, async (signal) => {
    const before = await count(env.conn, 'notes');
    const result = await interrupt(['restore', logical, '--yes'], 'pg_restore', 'rchar', dumpBytes, signal);
    expectClearError(result, EXIT[signal], new RegExp(`Interrupted by ${signal}`));
    expect(await count(env.conn, 'notes')).toBe(before);
    expect((await databaseNames(env.pg)).filter((name) => name.startsWith('shop__'))).toEqual([]);
    await expectConsistent(env, [logical, base]);
  });

  it.each(['SIGINT'] as const)(`pitr --into, %s while carrying the recovered database (seed ${seed}): scratch cluster removed, no database created`, async (signal) => {
    const result = await interrupt(['pitr', '--to', target, '--into', 'shop_at_t', '--yes'], 'pg_restore', 'rchar', dumpBytes, signal);
    expectClearError(result, EXIT[signal], new RegExp(`Interrupted by ${signal}`));
    expect(await databaseNames(env.pg)).not.toContain('shop_at_t');
    expect(scratchLeft()).toEqual([]);
    await expectConsistent(env, [logical, base]);
  });

  it.each(['SIGTERM'] as const)(`pitr --data-dir, %s during recovery (seed ${seed}): the recovering server stopped, its folders removed`, async (signal) => {
    const dataDir = path.join(env.pg.root, `recovered-${signal}`);
    const run = env.spawn('pitr', '--to', target, '--data-dir', dataDir, '--yes');
    await run.waitFor(/starting recovery on port/);
    run.child.kill(signal);
    const result = await outcome(run);
    expectClearError(result, EXIT[signal], new RegExp(`Interrupted by ${signal}`));
    expect(fs.existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);
    expect(fs.existsSync(dataDir)).toBe(false);
    expect(fs.existsSync(`${dataDir}.lifeline`)).toBe(false);
    await expectConsistent(env, [logical, base]);
  });
});
