import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { dbUrl } from '../engine/helpers.js';
import { mountTmpfs, unmount } from '../helpers/tmpfs.js';
import { count, databaseNames, expectClearError, expectConsistent, outcome, serverNow, startFaultEnv, switchAndArchive, waitUntil, type FaultEnv } from './helpers.js';

/*
 * A full disk (a small tmpfs, FACTS.md) under the repository, under lifeline's scratch folder
 * while a restore stages its dump there or a verification builds its disposable cluster, and under
 * the data directory a point-in-time recovery extracts its base backup into. Each
 * time: a clear error naming the place, nothing half-written left, what was there before intact,
 * and everything works again once there is room.
 */
let env: FaultEnv;
let tinyUrl: string;
let logical: string;
let base: string;
let target: string;
let fullRepo: string;
let scratch: string;
const mounted: string[] = [];
let skip: string | undefined;

async function mount(dir: string, size: string): Promise<void> {
  if (mounted.includes(dir) || skip) return;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (await mountTmpfs(dir, size)) mounted.push(dir);
  else skip = 'mounting a tmpfs needs root (and a system that allows it)';
}

beforeAll(async () => {
  env = await startFaultEnv({ fillMb: 12, archiving: true });
  await withClient(env.pg.conn('postgres'), (c) => c.query('CREATE DATABASE tiny'));
  await withClient(env.pg.conn('tiny'), (c) => c.query('CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100)'));
  tinyUrl = dbUrl(env.pg, 'tiny');
  logical = await env.backup('--verify', 'none');
  base = await env.backup('--physical', '--verify', 'none');
  await switchAndArchive(env);
  target = await serverNow(env.conn);
  await switchAndArchive(env);
  fullRepo = path.join(env.pg.root, 'small-repo');
  scratch = path.join(env.home.home, 'data', 'scratch');
}, 120_000);
afterAll(async () => {
  for (const dir of mounted.reverse()) await unmount(dir);
  await env?.cleanup();
});

/** Writes zeros into `dir` until the file system is full. */
function fillUp(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  try {
    for (;;) fs.writeSync(fd, Buffer.alloc(1 << 20));
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOSPC') throw error;
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

describe('a full disk', { timeout: 120_000 }, () => {
  it('under the repository: the backup fails with REPO_FULL, the earlier backup is intact, and the repository takes the next one', async (ctx) => {
    await mount(fullRepo, '4m');
    if (skip) return ctx.skip(skip);
    const small = await env.backup('--db', tinyUrl, '--repo', fullRepo, '--verify', 'none');
    const big = await env.cli('--repo', fullRepo, 'backup', '--verify', 'none');
    expectClearError(big, 1, new RegExp(`Repository is full: ${fullRepo} \\(while writing backups/.*/data\\.dump`));
    await expectConsistent(env, [small], { url: fullRepo });
    const again = await env.backup('--db', tinyUrl, '--repo', fullRepo, '--verify', 'none');
    await expectConsistent(env, [small, again], { url: fullRepo });
  });

  it('under the scratch folder while a restore stages its dump: a clear error, the live database untouched, nothing staged left', async (ctx) => {
    await mount(scratch, '48m');
    if (skip) return ctx.skip(skip);
    const before = await count(env.conn, 'notes');
    const run = env.spawn('restore', logical, '--jobs', '2', '--yes');
    // The moment staging starts, hold the CLI still and let "another program" take the space.
    const staged = await waitUntil(() => {
      const dir = fs.readdirSync(scratch).find((name) => name.startsWith('restore-'));
      return dir && fs.readdirSync(path.join(scratch, dir)).some((name) => name.endsWith('.dump')) ? dir : undefined;
    }, 'the staged dump', 60_000);
    process.kill(run.child.pid!, 'SIGSTOP');
    const filler = fillUp(scratch);
    process.kill(run.child.pid!, 'SIGCONT');
    const result = await outcome(run);
    expectClearError(result, 1, new RegExp(`No space left in ${scratch} while staging the dump for --jobs 2`));
    expect(result.stderr).toMatch(/hint: .*--jobs 1/);
    expect(fs.existsSync(path.join(scratch, staged))).toBe(false);
    expect(await count(env.conn, 'notes')).toBe(before);
    expect((await databaseNames(env.pg)).filter((name) => name.startsWith('shop__'))).toEqual([]);

    fs.rmSync(filler);
    const into = await env.cli('restore', logical, '--into', 'shop_staged', '--jobs', '2', '--yes');
    expect(into.exitCode, into.stderr).toBe(0);
    expect(await count(env.pg.conn('shop_staged'), 'notes')).toBe(before);
    expect(fs.readdirSync(scratch)).toEqual([]);
  });

  it('under the scratch folder of a verification: the restore level fails clearly, the disposable cluster is gone', async (ctx) => {
    await mount(scratch, '48m');
    if (skip) return ctx.skip(skip);
    const filler = fillUp(scratch);
    const verify = await env.cli('verify', logical, '--level', 'restore');
    expect(verify.exitCode).toBe(1);
    expect(`${verify.stdout}\n${verify.stderr}`).toMatch(/no space|full/i);
    expect(verify.stderr).toMatch(/^hint: /m);
    expect(fs.readdirSync(scratch)).toEqual(['filler']);
    fs.rmSync(filler);
    await expectConsistent(env, [logical, base]);
  });

  it('under the data directory of a point-in-time recovery: tar\'s own reason, not "corrupt"; the folder left empty; the base backup intact', async (ctx) => {
    const small = path.join(env.pg.root, 'small-data');
    await mount(small, '8m');
    if (skip) return ctx.skip(skip);
    const dataDir = path.join(small, 'recovered');
    const pitr = await env.cli('pitr', '--to', target, '--data-dir', dataDir, '--yes');
    expectClearError(pitr, 1, /tar could not extract base\.tar\S*: .*No space left on device/);
    expect(fs.readdirSync(dataDir)).toEqual([]);
    const integrity = await env.cli('verify', base, '--level', 'integrity');
    expect(integrity.exitCode, integrity.stderr).toBe(0);
  });
});
