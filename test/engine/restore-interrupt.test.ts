import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnInfo } from '../../src/postgres/conninfo.js';
import { seeded, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';
import { backupIdOf, cliFor, databases, dbUrl, fingerprints, query, spawnCli } from './helpers.js';

/**
 * A restore stopped half-way, while pg_restore copies order_items (the second of four tables,
 * so indexes, keys, ANALYZE and the verification are still ahead): the live database is
 * untouched and serves, and maintenance mode can be turned off afterwards.
 */
describe('restore interrupted half-way', { timeout: 120_000 }, () => {
  let pgc: TestCluster;
  let home: TempHome;
  let live: ConnInfo;
  let env: Record<string, string>;
  let cli: ReturnType<typeof cliFor>;
  let backupId: string;
  let atBackup: Awaited<ReturnType<typeof fingerprints>>;

  const connlimit = async () =>
    (await query<{ n: number }>(pgc.conn('postgres'), `SELECT datconnlimit AS n FROM pg_database WHERE datname = 'shop'`))[0].n;
  const leftovers = async () => (await databases(pgc)).filter((d) => d.startsWith('shop__'));

  beforeAll(async () => {
    pgc = await startTestCluster();
    home = await tempHome();
    live = await seeded(pgc, { rows: 150_000 });
    await query(live, 'ALTER DATABASE shop CONNECTION LIMIT 7');
    env = { ...home.env, LIFELINE_DB: dbUrl(pgc, 'shop'), LIFELINE_OPERATOR: 'ci-bot' };
    cli = cliFor(env);
    backupId = backupIdOf(await cli('--json', 'backup'));
    await query(live, 'DELETE FROM public.order_items WHERE line_no > 1');
    atBackup = await fingerprints(live);
  });
  afterAll(async () => {
    await home?.cleanup();
    await pgc?.cleanup();
  });

  it('Ctrl-C (SIGINT): exit 130, the half-restored database is dropped, live untouched, maintenance off works', async () => {
    expect((await cli('maintenance', 'on')).exitCode).toBe(0);
    const run = spawnCli(['restore', backupId, '--yes'], env);
    await run.waitFor(/restoring public\.order_items/);
    run.child.kill('SIGINT');
    const result = await run.child;
    expect(result.exitCode, run.stderr()).toBe(130);
    expect(run.stderr()).toMatch(/SIGINT received: stopping safely/);
    expect(run.stderr()).toMatch(/error: Interrupted by SIGINT/);
    expect(run.stderr()).not.toMatch(/internal error/);

    expect(await leftovers()).toEqual([]);
    expect(await fingerprints(live)).toEqual(atBackup);
    const off = await cli('maintenance', 'off');
    expect(off.exitCode, off.stderr).toBe(0);
    expect(await connlimit()).toBe(7);
  });

  it('SIGKILL: the half-restored database stays, clearly named; live untouched; maintenance state survives for off', async () => {
    expect((await cli('maintenance', 'on')).exitCode).toBe(0);
    const run = spawnCli(['restore', backupId, '--yes'], env);
    await run.waitFor(/restoring public\.order_items/);
    run.child.kill('SIGKILL');
    const result = await run.child;
    expect(result.signal).toBe('SIGKILL');

    const left = await leftovers();
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^shop__restore_\d{8}t\d{6}z$/);
    expect(await fingerprints(live)).toEqual(atBackup);

    const off = await cli('maintenance', 'off');
    expect(off.exitCode, off.stderr).toBe(0);
    expect(await connlimit()).toBe(7);

    // The next restore names the leftover in its plan so the operator can drop it.
    const plan = await cli('restore', backupId, '--dry-run');
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.stderr).toContain(`leftover from an interrupted restore: ${left[0]}`);
  });
});
