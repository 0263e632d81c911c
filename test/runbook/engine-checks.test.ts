import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { lifelinePaths } from '../../src/config/paths.js';
import { withClient } from '../../src/postgres/client.js';
import type { ConnInfo } from '../../src/postgres/conninfo.js';
import { createBuiltinRegistry } from '../../src/runbook/builtins.js';
import type { RunInfo, RunServices } from '../../src/runbook/registry.js';
import { resolveParams } from '../../src/runbook/params.js';
import { findBackup } from '../../src/runbook/engine-services.js';
import { openRepository } from '../../src/storage/open-repository.js';
import type { Repository } from '../../src/storage/repository.js';
import { createRole, seeded, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { load, tempDir } from './helpers.js';

/**
 * Every engine-backed check against a real cluster and a real repository: each passes when it
 * should and fails, saying why, when it should. The actions are driven the way the Runner does.
 */
let pg: TestCluster;
let shop: ConnInfo;
let home: string;
let repo: Repository;
const registry = createBuiltinRegistry();
const run: RunInfo = { id: 'test-run', operator: 'alice', dryRun: false, target: { name: 't', sandbox: false, label: 't' } };
const PASSWORD = 'app-secret-1';

function servicesFor(conn: ConnInfo): RunServices {
  return {
    env: process.env,
    config: configSchema.parse({}),
    paths: lifelinePaths({ LIFELINE_HOME: home }),
    connect: async () => ({ conn, label: `test ${conn.user ?? 'postgres'}@${conn.database}`, sandbox: false }),
    repo: async () => repo,
  };
}

const check = async (name: string, args: Record<string, unknown>, conn: ConnInfo = shop) => {
  const definition = registry.check(name)!;
  return definition.run({ with: definition.paramsSchema.parse(args), signal: new AbortController().signal, services: servicesFor(conn), run });
};

const act = async (name: string, args: Record<string, unknown>, conn: ConnInfo = shop) => {
  const definition = registry.action(name)!;
  const lines: string[] = [];
  const outputs = await definition.run({
    with: definition.paramsSchema.parse(args),
    signal: new AbortController().signal,
    services: servicesFor(conn),
    run,
    onProgress: () => undefined,
    onOutput: (line: string) => lines.push(line),
  });
  return { outputs, lines };
};

beforeAll(async () => {
  pg = await startTestCluster();
  shop = await seeded(pg, { rows: 400 });
  await createRole(pg, 'app', PASSWORD);
  home = tempDir('lifeline-engine-checks-');
  repo = await openRepository(path.join(home, 'repository'));
});
afterAll(async () => {
  await pg?.cleanup();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

describe('engine-backed checks and actions against a real cluster', () => {
  it('backup.exists fails on an empty repository; backup.verified and resolveParams keep latest-verified until there is one', async () => {
    expect(await check('backup.exists', {})).toMatchObject({ ok: false, detail: expect.stringMatching(/holds no backups yet\. Run `lifeline backup` first/) });
    expect(await check('backup.verified', {})).toMatchObject({ ok: false, detail: expect.stringMatching(/holds no backups/) });
    const loaded = load('id: p\ntitle: P\nparams:\n  backup: { type: backup, default: latest-verified }\nsteps:\n  - { id: a, title: A, action: wait, with: { seconds: 0 } }\n', registry);
    const resolve = async (ref: string) => (await findBackup(servicesFor(shop), ref))?.id;
    const runScope = { id: 'r', operator: 'alice', host: 'h', started_at: new Date().toISOString() };
    expect(await resolveParams({ loaded, given: {}, run: runScope, resolveBackup: resolve })).toEqual({ backup: 'latest-verified' });
    await expect(resolveParams({ loaded, given: { backup: '20200101T000000Z-daily' }, run: runScope, resolveBackup: resolve })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/^Param "backup": /),
    });
  });

  it('backup (verify none) records an unverified backup; backup.verified fails until it passed the level asked for', async () => {
    const { outputs } = await act('backup', { label: 'manual', verify: 'none' });
    expect(outputs).toMatchObject({ backupId: expect.stringMatching(/-manual$/), taken: true, tables: 4, snapshotAt: expect.any(String) });
    const id = outputs.backupId as string;
    expect(await check('backup.exists', { backup: id })).toMatchObject({ ok: true, detail: expect.stringContaining(`${id} (manual,`) });
    expect(await check('backup.exists', { backup: id, max_age: '0s' })).toMatchObject({ ok: false, detail: expect.stringMatching(/is older than 0s/) });
    expect(await check('backup.verified', { backup: id })).toMatchObject({ ok: false, detail: expect.stringMatching(/has never passed a verification/) });

    const verified = await act('verify', { backup: id, level: 'integrity' });
    expect(verified.outputs).toMatchObject({ backupId: id, passedLevel: 'integrity' });
    expect(await check('backup.verified', { backup: id })).toMatchObject({ ok: false, detail: `${id} has passed integrity only; archive or higher is needed (\`lifeline verify ${id} --level archive\`)` });
    await act('verify', { backup: id, level: 'archive' });
    expect(await check('backup.verified', { backup: id })).toMatchObject({ ok: true, detail: `${id} passed archive (at least archive needed)` });
    expect(await check('backup.verified', { backup: id, level: 'consistency' })).toMatchObject({ ok: false });

    // With a verified backup, reuse takes none and a backup param resolves to its id.
    const reused = await act('backup', { reuse: 'latest-verified', sandbox: 'default' });
    expect(reused.outputs).toMatchObject({ backupId: id, taken: false });
    expect(await findBackup(servicesFor(shop), 'latest-verified')).toMatchObject({ id });
  });

  it('role.privileges fails for a role without CREATEDB, ownership or read access, naming what is missing', async () => {
    const app: ConnInfo = { ...shop, user: 'app', password: PASSWORD };
    expect(await check('role.privileges', { for: ['restore-swap', 'maintenance', 'backup'] })).toMatchObject({ ok: true, detail: expect.stringMatching(/role postgres \(superuser\)/) });
    const swap = await check('role.privileges', { for: 'restore-swap' }, app);
    expect(swap.ok).toBe(false);
    expect(swap.detail).toMatch(/^role app on .* lacks CREATEDB \(the restore builds a new database before swapping it in\); ownership of database shop/);
    const maintenance = await check('role.privileges', { for: 'maintenance' }, app);
    expect(maintenance.detail).toMatch(/membership in pg_signal_backend/);
    const backup = await check('role.privileges', { for: 'backup' }, app);
    expect(backup).toMatchObject({ ok: false, detail: expect.stringMatching(/lacks read access to \d+ schema\(s\)\/table\(s\)\/sequence\(s\), e\.g\. public\.customers/) });

    await withClient(pg.conn('postgres'), (client) => client.query('ALTER ROLE app CREATEDB'));
    await withClient(shop, (client) => client.query('GRANT pg_read_all_data TO app'));
    expect(await check('role.privileges', { for: ['restore-into', 'backup'] }, app)).toMatchObject({ ok: true, detail: expect.stringMatching(/role app \(CREATEDB\)/) });
  });

  it('disk.free compares free space with the backup size and says when it cannot see the server', async () => {
    const ok = await check('disk.free', { backup: 'latest' });
    expect(ok).toMatchObject({ ok: true, detail: expect.stringMatching(/data directory .*: .* free, .* needed \(database of .* at backup/) });
    const tooSmall = await check('disk.free', { backup: 'latest', factor: 1e9 });
    expect(tooSmall).toMatchObject({ ok: false, detail: expect.stringMatching(/^not enough space: data directory/) });
    const app: ConnInfo = { ...shop, user: 'app', password: PASSWORD };
    expect(await check('disk.free', { backup: 'latest' }, app)).toMatchObject({ ok: false, detail: expect.stringMatching(/may not read data_directory, so lifeline cannot see the server's free space/) });
    expect(await check('disk.free', { backup: 'latest', where: 'scratch' }, app)).toMatchObject({ ok: true, detail: expect.stringMatching(/^scratch folder /) });
  });

  it('maintenance.state follows maintenance.on/off and fails while a session is still connected', async () => {
    expect(await check('maintenance.state', { expect: 'on' })).toMatchObject({ ok: false, detail: expect.stringMatching(/maintenance is off for shop.*turn it on first/) });
    expect(await check('maintenance.state', { expect: 'off' })).toMatchObject({ ok: true });
    const on = await act('maintenance.on', {});
    expect(on.outputs).toMatchObject({ database: 'shop', changed: true, strategy: 'database' });
    try {
      expect(await check('maintenance.state', { expect: 'on' })).toMatchObject({ ok: true, detail: expect.stringMatching(/maintenance is ON for shop since .* \(by alice\), connection limit 0, 0 other session/) });
      expect(await check('maintenance.state', { expect: 'off' })).toMatchObject({ ok: false });
      // A superuser is not held back by the connection limit: its session keeps the state from "ready".
      await withClient(shop, async () => {
        const busy = await check('maintenance.state', { expect: 'on' });
        expect(busy).toMatchObject({ ok: false, detail: expect.stringMatching(/1 other session\(s\): those sessions must end first/) });
      });
    } finally {
      expect((await act('maintenance.off', {})).outputs).toMatchObject({ changed: true });
    }
    expect(await check('maintenance.state', { expect: 'off' })).toMatchObject({ ok: true, detail: expect.stringMatching(/connection limit -1/) });
  });

  it('restore into a side database, then data.matches-backup passes, and fails naming the table once a row changes or goes', async () => {
    const restored = await act('restore', { backup: 'latest', mode: 'into', into: 'shop_copy' });
    expect(restored.outputs).toMatchObject({ database: 'shop_copy', mode: 'into', backupId: expect.any(String), snapshotAt: expect.any(String) });
    expect(restored.lines).toContain('restored into the new database shop_copy');
    expect(await check('data.matches-backup', { backup: 'latest', database: 'shop_copy' })).toMatchObject({ ok: true, detail: expect.stringMatching(/^4 tables equal backup .* foreign keys, indexes hold$/) });

    const copy = { ...shop, database: 'shop_copy' };
    await withClient(copy, (client) => client.query("UPDATE public.products SET name = name || ' (edited)' WHERE id = 1"));
    expect(await check('data.matches-backup', { backup: 'latest', database: 'shop_copy' })).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/differs from backup .*: table public\.products: \d+ rows but contents differ/),
    });
    await withClient(copy, (client) => client.query('DELETE FROM public.order_items WHERE line_no = 1 AND order_id IN (SELECT id FROM public.orders ORDER BY id LIMIT 2)'));
    expect((await check('data.matches-backup', { backup: 'latest', database: 'shop_copy' })).detail).toMatch(/table public\.order_items: \d+ rows, backup recorded \d+/);
    expect(await check('data.matches-backup', { backup: 'latest', database: 'no_such_db' })).toMatchObject({ ok: false, detail: expect.stringMatching(/no_such_db.*does not exist/) });
  });
});
