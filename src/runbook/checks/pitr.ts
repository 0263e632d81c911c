import { z } from 'zod';
import { defineCheck } from '../registry.js';
import { checkFailed, locate, needConfig, needRepo } from '../engine-services.js';

/** The target time lies inside the recoverable window (a base backup before it, WAL without gaps up to it). */
export const windowCoversCheck = defineCheck({
  name: 'pitr.window-covers',
  summary: 'a point in time lies inside the recoverable window (base backup before it, archived WAL without a gap up to it)',
  paramsSchema: z.object({ to: z.string().min(1).describe('the target time') }).strict(),
  describe: (args) => `the recoverable window covers ${args.to}`,
  async run({ with: args, signal, services }) {
    try {
      const config = needConfig(services);
      const repo = await needRepo(services);
      const [{ parseTargetTime, resolveZone, formatUtc }, { planPitr, describeWindow }] = await Promise.all([import('../../engine/pitr/time.js'), import('../../engine/pitr/plan.js')]);
      const zone = resolveZone(undefined, config.timezone);
      const target = parseTargetTime(args.to, zone);
      const plan = await planPitr({ repo, target, zone, signal });
      return { ok: true, detail: `${formatUtc(target.at)} is inside ${describeWindow({ ...plan.window, ranges: [plan.range] }, zone)}` };
    } catch (error) {
      return checkFailed(error, signal);
    }
  },
});

/** WAL archiving works right now: a switched segment arrives in the repository. */
export const archivingHealthyCheck = defineCheck({
  name: 'archiving.healthy',
  summary: 'WAL archiving of the target works end to end (forces a WAL switch and waits for the segment in the repository)',
  paramsSchema: z.object({ timeout_seconds: z.number().int().positive().default(60) }).strict(),
  describe: () => 'WAL archiving into the repository works',
  async run({ with: args, signal, services }) {
    try {
      const repo = await needRepo(services);
      const where = await locate(services, {}, signal);
      const { checkArchiving } = await import('../../engine/wal/archiving.js');
      const result = await checkArchiving({ conn: where.conn, store: repo.store, timeoutMs: args.timeout_seconds * 1000, signal });
      return { ok: true, detail: `${result.segment} arrived in ${repo.location} after ${result.waitedMs} ms` };
    } catch (error) {
      return checkFailed(error, signal);
    }
  },
});
