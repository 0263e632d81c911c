import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { databaseNames, expectClearError, expectConsistent, filesUnder, serverNow, startFaultEnv, switchAndArchive, type FaultEnv } from './helpers.js';

/*
 * A WAL segment deleted from the archive after a base backup: `list` and `status` name the gap,
 * pitr to a time beyond it refuses before touching anything, and the stretch before the gap is
 * still recoverable (nothing else lost).
 */
let env: FaultEnv;
let logical: string;
let base: string;
let beforeGap: string;
let afterGap: string;
let missing: string;

beforeAll(async () => {
  env = await startFaultEnv({ archiving: true });
  logical = await env.backup('--verify', 'none');
  base = await env.backup('--physical', '--verify', 'none');
  await withClient(env.conn, (c) => c.query('CREATE TABLE phases (phase text)'));
  const commit = (phase: string) => withClient(env.conn, (c) => c.query('INSERT INTO phases VALUES ($1)', [phase]));
  await commit('A');
  beforeGap = await serverNow(env.conn);
  await commit('A2');
  await switchAndArchive(env);
  await commit('B');
  missing = await switchAndArchive(env); // holds B: the segment that will go missing
  await commit('C');
  afterGap = await serverNow(env.conn);
  await commit('D');
  await switchAndArchive(env);
  const object = filesUnder(env.repo).find((f) => f.startsWith('wal/') && path.basename(f).startsWith(missing))!;
  fs.rmSync(path.join(env.repo, object));
}, 180_000);
afterAll(() => env?.cleanup());

describe('a WAL segment deleted from the archive', { timeout: 120_000 }, () => {
  it('list names the gap (JSON and lines)', async () => {
    const json = await env.cli('--json', 'list');
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).window.gaps).toEqual([expect.objectContaining({ from: missing, to: missing, count: 1 })]);
    const lines = await env.cli('list');
    expect(lines.stdout).toContain(`WAL GAP: missing ${missing}: recovery cannot cross it`);
  });

  it('status is critical and names the gap', async () => {
    const status = await env.cli('--json', 'status');
    expect(status.exitCode).toBe(1);
    const checks = JSON.parse(status.stdout).status.checks as { name: string; level: string; detail: string }[];
    expect(checks).toContainEqual(expect.objectContaining({ name: 'wal.gap', level: 'critical', detail: expect.stringContaining(missing) }));
    expect((await env.cli('status')).stdout).toContain(missing);
  });

  it('pitr across the gap refuses before touching anything, naming the missing segment', async () => {
    const dataDir = path.join(env.pg.root, 'across-gap');
    expectClearError(await env.cli('pitr', '--to', afterGap, '--data-dir', dataDir, '--yes'), 1, new RegExp(`beyond a WAL gap \\(missing ${missing}\\), which recovery cannot cross`));
    expect(fs.existsSync(dataDir)).toBe(false);
    const into = await env.cli('pitr', '--to', afterGap, '--into', 'shop_across_gap', '--yes');
    expectClearError(into, 1, /WAL gap/);
    expect(into.stderr).toContain(missing);
    expect(await databaseNames(env.pg)).not.toContain('shop_across_gap');
    expect(fs.existsSync(path.join(env.home.home, 'data', 'scratch')) ? fs.readdirSync(path.join(env.home.home, 'data', 'scratch')) : []).toEqual([]);
  });

  it('nothing else is lost: the time before the gap is still recoverable, the backups intact', async () => {
    const plan = await env.cli('--json', 'pitr', '--to', beforeGap, '--into', 'shop_before_gap', '--dry-run');
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ dryRun: true, baseBackup: base });
    await expectConsistent(env, [logical, base]);
  });
});
