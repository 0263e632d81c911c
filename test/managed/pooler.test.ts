import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { parseConnectionUrl } from '../../src/postgres/conninfo.js';
import { probePooler, refuseTransactionPooler } from '../../src/postgres/pooler.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { APP_PASSWORD, managedShape, type ManagedShape } from './fixture.js';
import { startTxPooler, type TxPooler } from './tx-pooler.js';

let pg: TestCluster;
let shape: ManagedShape;
let txPooler: TxPooler;
let sessionPooler: TxPooler;

beforeAll(async () => {
  pg = await startTestCluster();
  shape = await managedShape(pg);
  const upstream = { upstreamHost: '127.0.0.1', upstreamPort: pg.port, password: () => APP_PASSWORD };
  txPooler = await startTxPooler({ ...upstream, mode: 'transaction' });
  sessionPooler = await startTxPooler({ ...upstream, mode: 'session' });
});
afterAll(async () => {
  await txPooler?.close();
  await sessionPooler?.close();
  await pg?.cleanup();
});

describe('pooler probe', () => {
  it('sees a direct connection as direct', async () => {
    const probe = await withClient(shape.app, probePooler);
    expect(probe).toMatchObject({ transactionPooling: false, behindProxy: false });
  });

  it('sees a transaction-mode pooler by its behaviour and refuses it with the direct/session hint', async () => {
    const conn = parseConnectionUrl(txPooler.url('app', 'appdb'));
    // The proxy really pools per transaction: the backend changes between two statements.
    const pids = await withClient(conn, async (c) => [
      (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p,
      (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p,
    ]);
    expect(pids[0]).not.toBe(pids[1]);
    expect((await withClient(conn, probePooler)).transactionPooling).toBe(true);
    const error = await withClient(conn, (c) => refuseTransactionPooler(c, 'a backup')).catch((e) => e);
    expect(error).toMatchObject({ code: 'DB_POOLER' });
    expect(error.message).toMatch(/looks like a transaction-mode pooler/);
    expect(error.hint).toMatch(/direct connection string.*session mode/);
  });

  it('lets a session-mode pooler through, noting that something sits in between', async () => {
    const probe = await withClient(parseConnectionUrl(sessionPooler.url('app', 'appdb')), probePooler);
    expect(probe).toMatchObject({ transactionPooling: false, behindProxy: true });
  });
});
