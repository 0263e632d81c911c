import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lifelinePaths } from '../../src/config/paths.js';
import { withClient } from '../../src/postgres/client.js';
import { parseConnectionUrl } from '../../src/postgres/conninfo.js';
import { destroySandbox, ensureSandbox, sandboxStatus, stopSandbox } from '../../src/postgres/sandbox.js';
import { runCli, tempHome, type TempHome } from '../helpers/cluster.js';

async function count(url: string, table: string): Promise<number> {
  return withClient(parseConnectionUrl(url), async (c) => Number((await c.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n));
}

describe('lifeline sandbox (CLI, end to end)', () => {
  let home: TempHome;
  beforeAll(async () => {
    home = await tempHome();
  });
  afterAll(() => home?.cleanup());

  const cli = (...args: string[]) => runCli(args, { env: home.env });

  it('status before anything exists', async () => {
    const result = await cli('--json', 'sandbox', 'status');
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ name: 'default', exists: false, running: false });
  });

  it('up creates, seeds and starts it; a second up reuses it', async () => {
    const first = await cli('--json', 'sandbox', 'up');
    expect(first.exitCode, first.stderr).toBe(0);
    const up = JSON.parse(first.stdout);
    expect(up).toMatchObject({ name: 'default', database: 'shop', created: true });
    expect(up.url).toBe(`postgresql://postgres@127.0.0.1:${up.port}/shop`);
    expect(up.dataDir.startsWith(home.home)).toBe(true);
    expect(first.stderr).toMatch(/creating sandbox/);
    expect(await count(up.url, 'order_items')).toBeGreaterThan(50_000);

    const second = await cli('--json', 'sandbox', 'up');
    expect(second.exitCode).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ created: false, port: up.port });

    const plain = await cli('sandbox', 'up');
    expect(plain.stdout).toContain(up.url);
  });

  it('status and url describe the running sandbox', async () => {
    const status = JSON.parse((await cli('--json', 'sandbox', 'status')).stdout);
    expect(status).toMatchObject({ exists: true, running: true, database: 'shop' });
    expect(status.pid).toBeGreaterThan(0);
    const url = await cli('sandbox', 'url');
    expect(url.exitCode).toBe(0);
    expect(url.stdout.trim()).toBe(status.url);
    expect(JSON.parse((await cli('--json', 'sandbox', 'url')).stdout)).toEqual({ name: 'default', url: status.url });
  });

  it('seed resets the shop with the asked number of rows', async () => {
    const result = await cli('--json', 'sandbox', 'seed', '--rows', '1000');
    expect(result.exitCode, result.stderr).toBe(0);
    const seeded = JSON.parse(result.stdout);
    expect(seeded.rows).toMatchObject({ total: 1000, orders: 300 });
    expect(await count(seeded.url, 'orders')).toBe(300);
    const bad = await cli('sandbox', 'seed', '--rows', 'many');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--rows/);
  });

  it('down stops it, url brings it back, down --destroy removes it', async () => {
    const down = await cli('--json', 'sandbox', 'down');
    expect(down.exitCode).toBe(0);
    expect(JSON.parse(down.stdout)).toMatchObject({ existed: true, stopped: true });
    const stopped = JSON.parse((await cli('--json', 'sandbox', 'status')).stdout);
    expect(stopped).toMatchObject({ exists: true, running: false });
    expect((await cli('sandbox', 'down')).stdout).toMatch(/was not running/);

    const url = (await cli('sandbox', 'url')).stdout.trim();
    expect(await count(url, 'orders')).toBe(300); // the reseeded data survived the restart

    const destroy = await cli('--json', 'sandbox', 'down', '--destroy');
    expect(destroy.exitCode).toBe(0);
    expect(JSON.parse(destroy.stdout)).toEqual({ name: 'default', destroyed: true });
    expect(fs.existsSync(stopped.dir)).toBe(false);
    expect(JSON.parse((await cli('--json', 'sandbox', 'status')).stdout).exists).toBe(false);
  });

  it('rejects a bad sandbox name as a usage error', async () => {
    const result = await cli('sandbox', 'status', '--name', '../etc');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/Invalid sandbox name/);
  });
});

describe('sandbox API', () => {
  let home: TempHome;
  beforeAll(async () => {
    home = await tempHome();
  });
  afterAll(() => home?.cleanup());

  it('creates a named, unseeded sandbox once even when asked concurrently', async () => {
    const paths = lifelinePaths(home.env);
    const notes: string[] = [];
    const [a, b] = await Promise.all([
      ensureSandbox({ paths, name: 'drill-restore', seed: false, onNote: (t) => notes.push(t) }),
      ensureSandbox({ paths, name: 'drill-restore', seed: false }),
    ]);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect(a.port).toBe(b.port);
    expect(a.database).toBe('postgres');
    const databases = await withClient(a.conn, async (c) => (await c.query('SELECT datname FROM pg_database ORDER BY 1')).rows.map((r) => r.datname));
    expect(databases).not.toContain('shop');
    expect(notes.join('\n')).toMatch(/creating sandbox "drill-restore"/);

    expect(await stopSandbox({ paths, name: 'drill-restore' })).toEqual({ existed: true, wasRunning: true });
    expect((await sandboxStatus({ paths, name: 'drill-restore' })).running).toBe(false);
    const restarted = await ensureSandbox({ paths, name: 'drill-restore', seed: false });
    expect(restarted.created).toBe(false);
    expect((await sandboxStatus({ paths, name: 'drill-restore' })).running).toBe(true);
    expect(await destroySandbox({ paths, name: 'drill-restore' })).toEqual({ existed: true });
    expect(await destroySandbox({ paths, name: 'drill-restore' })).toEqual({ existed: false });
  });

  it('recovers from a creation that never finished', async () => {
    const paths = lifelinePaths(home.env);
    const status = await sandboxStatus({ paths, name: 'half' });
    fs.mkdirSync(`${status.dir}/data`, { recursive: true });
    fs.writeFileSync(`${status.dir}/data/junk`, 'x');
    const sandbox = await ensureSandbox({ paths, name: 'half', seed: false });
    expect(sandbox.created).toBe(true);
    await destroySandbox({ paths, name: 'half' });
  });
});
