import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { LifelineError } from '../errors.js';

export interface PoolerProbe {
  /** Session state (a custom setting or the backend) did not survive from one transaction to the next. */
  transactionPooling: boolean;
  /**
   * The backend pid the server reports differs from the one announced at login (BackendKeyData):
   * something sits between us and PostgreSQL, in whatever mode.
   */
  behindProxy: boolean;
  detail: string;
}

const ROUNDS = 3;

/**
 * Behavioural probe, never the port number: a custom setting is set at session level in one
 * (autocommit) transaction and read back in the next, and the backend pid is compared across them.
 * A transaction-mode pooler (PgBouncer, Supavisor) hands each
 * transaction to whichever server connection is free, so the setting is lost or the pid changes.
 * An idle pool may hand back the same server connection, so the probe takes a few rounds.
 */
export async function probePooler(client: pg.ClientBase): Promise<PoolerProbe> {
  const announcedPid = (client as { processID?: number | null }).processID ?? undefined;
  const pids = new Set<number>();
  for (let round = 0; round < ROUNDS; round++) {
    const token = randomBytes(8).toString('hex');
    const set = await client.query<{ pid: number }>(`SELECT set_config('lifeline.pooler_probe', $1, false), pg_backend_pid() AS pid`, [token]);
    const read = await client.query<{ value: string | null; pid: number }>(
      `SELECT current_setting('lifeline.pooler_probe', true) AS value, pg_backend_pid() AS pid`,
    );
    pids.add(set.rows[0].pid).add(read.rows[0].pid);
    if (read.rows[0].value !== token || pids.size > 1) {
      return {
        transactionPooling: true,
        behindProxy: true,
        detail: read.rows[0].value !== token ? 'a session setting was lost between two transactions' : `the server backend changed between transactions (pids ${[...pids].join(', ')})`,
      };
    }
  }
  const [pid] = pids;
  const behindProxy = announcedPid !== undefined && announcedPid !== pid;
  await client.query(`RESET lifeline.pooler_probe`).catch(() => undefined);
  return { transactionPooling: false, behindProxy, detail: behindProxy ? 'a session-mode pooler or proxy (session state is kept)' : 'direct connection' };
}

/**
 * Refuses a transaction-mode pooler before pg_dump, pg_restore or maintenance mode start: they
 * need one server session for their whole run (snapshots, SET, temp state, locks).
 */
export async function refuseTransactionPooler(client: pg.ClientBase, operation: string): Promise<PoolerProbe> {
  const probe = await probePooler(client);
  if (probe.transactionPooling) {
    throw new LifelineError(
      'DB_POOLER',
      `The connection looks like a transaction-mode pooler (${probe.detail}); ${operation} needs one database session from start to end.`,
      {
        hint:
          'Use the direct connection string (Supabase: db.<project>.supabase.co:5432) or the pooler in session mode ' +
          '(Supavisor/PgBouncer session mode); transaction-mode pooling cannot carry pg_dump or pg_restore.',
      },
    );
  }
  return probe;
}
