import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifelineError } from '../../src/errors.js';
import { connect, withClient } from '../../src/postgres/client.js';
import { freePort } from '../../src/postgres/cluster.js';
import type { ConnInfo } from '../../src/postgres/conninfo.js';
import { serverFacts } from '../../src/postgres/facts.js';
import { createRole, seeded, startTestCluster, type TestCluster } from '../helpers/cluster.js';

let pg: TestCluster;
let shop: ConnInfo;
const SECRET = 'Sekr3t-p@ss:word';

beforeAll(async () => {
  pg = await startTestCluster();
  shop = await seeded(pg, { rows: 2_000 });
  await createRole(pg, 'app', SECRET);
  await createRole(pg, 'reader', SECRET);
});

afterAll(() => pg?.cleanup());

async function failure(promise: Promise<unknown>): Promise<LifelineError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LifelineError);
  return error as LifelineError;
}

const tcp = (over: Partial<ConnInfo>): ConnInfo => ({ ...pg.tcpConn('shop'), ...over, params: { ...over.params } });

describe('connect', () => {
  it('connects through the socket and over TCP (prefer falls back to no TLS)', async () => {
    expect(await withClient(shop, async (c) => (await c.query('SELECT 1 AS one')).rows[0].one)).toBe(1);
    expect(await withClient(tcp({}), async (c) => (await c.query('SELECT current_user AS u')).rows[0].u)).toBe('postgres');
  });

  it('logs in a scram role with the right password', async () => {
    const user = await withClient(tcp({ user: 'app', password: SECRET }), async (c) => (await c.query('SELECT current_user AS u')).rows[0].u);
    expect(user).toBe('app');
  });

  it('takes the password from PGPASSWORD or a private ~/.pgpass', async () => {
    const viaEnv = await withClient(tcp({ user: 'app' }), async (c) => (await c.query('SELECT 1 AS one')).rows[0].one, {
      env: { ...process.env, PGPASSWORD: SECRET },
    });
    expect(viaEnv).toBe(1);
    const passfile = path.join(pg.root, 'pgpass');
    fs.writeFileSync(passfile, `# comment\n127.0.0.1:${pg.port}:shop:app:${SECRET.replace(/:/g, '\\:')}\n`, { mode: 0o600 });
    const env = { ...process.env, PGPASSFILE: passfile, PGPASSWORD: undefined };
    expect(await withClient(tcp({ user: 'app' }), async (c) => (await c.query('SELECT 2 AS two')).rows[0].two, { env })).toBe(2);
    // Readable by others: ignored, like libpq does.
    fs.chmodSync(passfile, 0o644);
    expect((await failure(connect(tcp({ user: 'app' }), { env }))).code).toBe('DB_AUTH');
  });

  it('reports a wrong password as DB_AUTH without echoing it', async () => {
    const error = await failure(connect(tcp({ user: 'app', password: `${SECRET}-wrong` })));
    expect(error.code).toBe('DB_AUTH');
    expect(error.message).toContain('app@127.0.0.1');
    expect(error.message).not.toContain(SECRET);
    expect(error.hint).toBeTruthy();
    const viaSocket = await failure(connect({ ...pg.conn('shop'), user: 'reader', password: 'nope' }));
    expect(viaSocket.code).toBe('DB_AUTH');
  });

  it('reports a missing password as DB_AUTH', async () => {
    const env = { ...process.env, PGPASSWORD: undefined, PGPASSFILE: '/nonexistent' };
    const error = await failure(connect(tcp({ user: 'app' }), { env }));
    expect(error.code).toBe('DB_AUTH');
    expect(error.message).toMatch(/none was given/);
  });

  it('reports an unknown role (no pg_hba match is the same code path)', async () => {
    const error = await failure(connect(tcp({ user: 'nobody', password: 'x' })));
    expect(error.code).toBe('DB_AUTH');
  });

  it('reports a missing database as DB_NOT_FOUND', async () => {
    const error = await failure(connect(pg.conn('no_such_db')));
    expect(error.code).toBe('DB_NOT_FOUND');
    expect(error.message).toContain('no_such_db');
  });

  it('reports nothing listening as DB_UNREACHABLE', async () => {
    const port = await freePort();
    const refused = await failure(connect({ host: '127.0.0.1', port, user: 'postgres', database: 'x', params: {} }));
    expect(refused.code).toBe('DB_UNREACHABLE');
    expect(refused.message).toMatch(/refused/);
    expect(refused.hint).toBeTruthy();
    const noSocket = await failure(connect({ host: pg.root, port: pg.port, user: 'postgres', database: 'x', params: {} }));
    expect(noSocket.code).toBe('DB_UNREACHABLE');
  });

  it('gives up on a silent host within the timeout', async () => {
    // 10.255.255.1 is unroutable: either the packets vanish (timeout) or the network says so at once.
    const started = Date.now();
    const error = await failure(connect({ host: '10.255.255.1', port: 5432, user: 'x', database: 'x', params: {} }, { connectTimeoutMs: 500 }));
    expect(error.code).toBe('DB_UNREACHABLE');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses TLS-only settings against a server without TLS', async () => {
    const error = await failure(connect(tcp({ params: { sslmode: 'require' } })));
    expect(error.code).toBe('DB_UNREACHABLE');
    expect(error.message).toMatch(/TLS/);
  });

  it('honours an abort signal', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await failure(connect(shop, { signal: controller.signal }))).code).toBe('ABORTED');
  });

  it('withClient closes the client even when the body throws', async () => {
    let seen: { query(sql: string): Promise<unknown> } | undefined;
    await expect(
      withClient(shop, async (client) => {
        seen = client;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await expect(seen!.query('SELECT 1')).rejects.toThrow();
  });
});

describe('serverFacts', () => {
  it('describes the server and the user tables', async () => {
    const facts = await withClient(shop, serverFacts);
    expect(facts.major).toBe(15);
    expect(facts.versionNum).toBeGreaterThanOrEqual(150000);
    expect(facts.version).toMatch(/^PostgreSQL 15\./);
    expect(facts.systemIdentifier).toMatch(/^\d{10,20}$/);
    expect(facts.database).toBe('shop');
    expect(facts.sizeBytes).toBeGreaterThan(1_000_000);
    expect(facts.timezone).toBeTruthy();
    expect(facts.encoding).toBe('UTF8');
    expect(facts.isSuperuser).toBe(true);
    expect(facts.canCreateDb).toBe(true);
    expect(facts.inRecovery).toBe(false);
    expect(facts.tables.map((t) => `${t.schema}.${t.name}`)).toEqual([
      'public.customers',
      'public.order_items',
      'public.orders',
      'public.products',
    ]);
    const orders = facts.tables.find((t) => t.name === 'orders')!;
    expect(orders.estimatedRows).toBe(600);
    expect(orders.bytes).toBeGreaterThan(0);
  });

  it('works for an ordinary role, and inside its transaction', async () => {
    const facts = await withClient(tcp({ user: 'app', password: SECRET }), async (client) => {
      await client.query('BEGIN');
      const result = await serverFacts(client);
      await client.query('SELECT 1'); // the transaction is still usable
      await client.query('COMMIT');
      return result;
    });
    expect(facts.isSuperuser).toBe(false);
    expect(facts.canCreateDb).toBe(false);
    expect(facts.user).toBe('app');
  });

  it('counts a table never analyzed by its live rows', async () => {
    await withClient(shop, async (c) => {
      await c.query('CREATE SCHEMA extra; CREATE TABLE extra.fresh (id int)');
    });
    const facts = await withClient(shop, serverFacts);
    expect(facts.tables.find((t) => t.schema === 'extra')).toMatchObject({ name: 'fresh', estimatedRows: 0 });
  });
});
