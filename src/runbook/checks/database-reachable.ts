import { z } from 'zod';
import { abortError, isLifelineError } from '../../errors.js';
import { defineCheck } from '../registry.js';
import { describeWhere, locate, whereShape } from '../engine-services.js';

/** The target answers `SELECT 1` as the configured user. */
export const databaseReachableCheck = defineCheck({
  name: 'database.reachable',
  summary: 'the target database accepts a connection and answers a query',
  paramsSchema: z
    .object({
      ...whereShape,
      timeout_seconds: z.number().positive().default(10),
    })
    .strict(),
  describe: (args) => `${describeWhere(args)} is reachable`,
  async run({ with: args, signal, services }) {
    if (!services.connect && !args.sandbox) return { ok: false, detail: 'no database connection is available to this run' };
    const [{ withClient }, { describeConn }] = await Promise.all([import('../../postgres/client.js'), import('../../postgres/conninfo.js')]);
    try {
      const { conn: target } = await locate(services, args, signal);
      const version = await withClient(target, async (client) => (await client.query('SHOW server_version')).rows[0]?.server_version as string, {
        signal,
        env: services.env,
        connectTimeoutMs: args.timeout_seconds * 1000,
      });
      return { ok: true, detail: `${describeConn(target)} answers (PostgreSQL ${version})` };
    } catch (error) {
      if (signal.aborted) throw abortError(signal);
      if (isLifelineError(error)) return { ok: false, detail: error.hint ? `${error.message} ${error.hint}` : error.message };
      return { ok: false, detail: error instanceof Error ? error.message : String(error) };
    }
  },
});
