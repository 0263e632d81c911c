import { LifelineError } from '../../errors.js';
import { connect } from '../../postgres/client.js';
import type { ConnInfo } from '../../postgres/conninfo.js';

/** The first key of lifeline's advisory locks ("lfln"); the second is hashtext(database name). */
const LOCK_CLASS = 0x6c666c6e;

/** Releases the target lock (ends its session); calling it twice is harmless. */
export type ReleaseTarget = () => Promise<void>;

/**
 * One restore at a time per target database: a session-level advisory lock on the server, held in
 * the admin database for the whole restore. Two restores of the same database would otherwise both
 * build a copy and swap names twice. The server releases the lock when the session ends, so a
 * restore killed outright (SIGKILL, a crash) never leaves a stale lock behind.
 */
export async function lockRestoreTarget(admin: ConnInfo, database: string, signal?: AbortSignal): Promise<ReleaseTarget> {
  const client = await connect(admin, { signal, applicationName: `lifeline restore of ${database} (pid ${process.pid})`.slice(0, 63) });
  try {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_CLASS, database]);
    if (!rows[0].ok) {
      const holder = await client
        .query<{ application_name: string; backend_start: Date }>(
          `SELECT a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid::bigint = $1
              AND l.objid::bigint = (hashtext($2)::bigint & 4294967295) AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          [LOCK_CLASS, database],
        )
        .then((r) => r.rows[0])
        .catch(() => undefined);
      const who = holder ? `${holder.application_name || 'another session'}, since ${holder.backend_start.toISOString()}` : 'another lifeline session';
      throw new LifelineError('RESTORE_REFUSED', `Another restore of "${database}" is running (${who})`, {
        hint: 'Nothing was changed. Wait for it to finish (or stop it), then run the restore again.',
      });
    }
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    // Ending the session releases the lock; an explicit unlock first keeps pg_locks tidy at once.
    await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, database]).catch(() => undefined);
    await client.end().catch(() => undefined);
  };
}
