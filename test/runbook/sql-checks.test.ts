import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuiltinRegistry } from '../../src/runbook/builtins.js';
import type { RunServices, RunInfo } from '../../src/runbook/registry.js';
import { withClient } from '../../src/postgres/client.js';
import { createDatabase, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { load, runRunbook, scripted, tempDir } from './helpers.js';

let pg: TestCluster;
let services: RunServices;
const registry = createBuiltinRegistry();
const run: RunInfo = { id: 'r', operator: 'alice', dryRun: false, target: { name: 't', sandbox: false, label: 't' } };

beforeAll(async () => {
  pg = await startTestCluster();
  const conn = await createDatabase(pg, 'shop');
  await withClient(conn, async (client) => {
    await client.query('CREATE TABLE orders (id int primary key); INSERT INTO orders SELECT generate_series(1, 10)');
  });
  services = { env: process.env, connect: async () => ({ conn, label: 'test', sandbox: false }) };
});
afterAll(() => pg?.cleanup());

const check = async (name: string, args: Record<string, unknown>) => {
  const definition = registry.check(name)!;
  return definition.run({ with: definition.paramsSchema.parse(args), signal: new AbortController().signal, services, run });
};

describe('database checks against a real cluster', () => {
  it('database.reachable passes for the target and fails, saying why, for a database that does not exist', async () => {
    expect(await check('database.reachable', {})).toMatchObject({ ok: true, detail: expect.stringMatching(/answers \(PostgreSQL \d+/) });
    const missing = await check('database.reachable', { database: 'shop_restored' });
    expect(missing.ok).toBe(false);
    expect(missing.detail).toMatch(/shop_restored/);
    expect(missing.detail).toMatch(/does not exist/);
  });

  it('sql.assert passes on true, fails on false, on no row and on an error, and may not write', async () => {
    expect(await check('sql.assert', { name: 'ten orders', sql: 'SELECT count(*) = 10 FROM orders' })).toEqual({ ok: true, detail: 'ten orders: true' });
    expect(await check('sql.assert', { name: 'eleven', sql: 'SELECT count(*) = 11 FROM orders' })).toEqual({ ok: false, detail: 'eleven: returned false, expected true' });
    expect(await check('sql.assert', { sql: 'SELECT true WHERE false' })).toEqual({ ok: false, detail: 'assertion: the query returned no row' });
    expect((await check('sql.assert', { sql: 'SELECT count(*) > 0 FROM ordres' })).detail).toMatch(/relation "ordres" does not exist/);
    const write = await check('sql.assert', { sql: 'INSERT INTO orders VALUES (99) RETURNING true' });
    expect(write).toMatchObject({ ok: false, detail: expect.stringMatching(/read-only transaction/) });
  });

  it('a sql.assert step fails the run when the data is not as expected', async () => {
    const loaded = load(
      `id: s
title: S
steps:
  - id: assert
    title: Orders are all there
    action: sql.assert
    with: { name: orders, sql: "SELECT count(*) = 11 FROM orders" }
    on_failure: { then: abort }
`,
      registry,
    );
    const result = await runRunbook({ loaded, registry, answer: scripted([]), home: tempDir(), services, target: run.target });
    expect(result).toMatchObject({ outcome: 'failed', exitCode: 1, failedStep: 'assert', error: { code: 'VERIFY_FAILED', message: 'orders: returned false, expected true' } });
  });
});
