import path from 'node:path';
import { z } from 'zod';
import { LifelineError } from '../../errors.js';
import { defineAction } from '../registry.js';
import { locate, needConfig, needRepo, scratchDir } from '../engine-services.js';

/**
 * Point-in-time recovery with the PITR engine: the target is checked against the recoverable
 * window before anything is touched, the newest base backup before it is recovered in a new data
 * directory to exactly that time (proved from the server's own log), and the chosen database is
 * carried into a NEW database on the target server (or the recovered cluster is left running).
 */
export const pitrRestoreAction = defineAction({
  name: 'pitr.restore',
  summary: 'recover to a point in time from a base backup and the WAL archive, into a new database (or a new data directory)',
  paramsSchema: z
    .object({
      to: z.string().min(1).describe('the target time: ISO 8601 with an offset (a timestamp param), or "YYYY-MM-DD HH:MM:SS" in the configured timezone'),
      into: z.string().min(1).max(63).optional().describe('carry the recovered database into this NEW database on the target server'),
      data_dir: z.string().min(1).optional().describe('or: leave the recovered cluster running in this new folder'),
      database: z.string().min(1).optional().describe('with into: which database of the recovered cluster to carry (default: the target database)'),
      timeout_seconds: z.number().int().positive().default(3600).describe('give up waiting for recovery after this long'),
    })
    .strict()
    .superRefine((args, ctx) => {
      if (Boolean(args.into) === Boolean(args.data_dir)) ctx.addIssue({ code: 'custom', path: ['into'], message: 'name exactly one of `into` (a new database) or `data_dir` (a new folder)' });
      if (args.database && !args.into) ctx.addIssue({ code: 'custom', path: ['database'], message: '`database` goes with `into`' });
    }),
  outputs: ['backupId', 'snapshotAt', 'recoveredTo', 'database', 'dataDir', 'port', 'socketDir', 'timeline'],
  describe: (args) => `recover to ${args.to} from the newest base backup before it, ${args.into ? `into the new database ${args.into} on the target server` : `into the new folder ${args.data_dir}`}`,
  async run({ with: args, signal, onProgress, onOutput, services }) {
    const config = needConfig(services);
    const repo = await needRepo(services);
    const [{ pointInTimeRecovery }, { parseTargetTime, resolveZone, formatUtcAndLocal }, { describeWindow }] = await Promise.all([
      import('../../engine/pitr/pitr.js'),
      import('../../engine/pitr/time.js'),
      import('../../engine/pitr/plan.js'),
    ]);
    const zone = resolveZone(undefined, config.timezone);
    const target = parseTargetTime(args.to, zone);
    let mode: Parameters<typeof pointInTimeRecovery>[0]['mode'];
    if (args.into) {
      const server = await locate(services, {}, signal);
      const database = args.database ?? server.conn.database ?? server.conn.user;
      if (!database) throw new LifelineError('USAGE', 'Which database of the recovered cluster? Give `database:`.');
      mode = { kind: 'into', into: args.into, target: server.conn, database, workDir: scratchDir(services) };
    } else {
      mode = { kind: 'data-dir', dataDir: path.resolve(args.data_dir!) };
    }
    const common = { repo, target, zone, mode, timeoutMs: args.timeout_seconds * 1000, signal, onProgress };
    const plan = await pointInTimeRecovery({ ...common, dryRun: true });
    onOutput(`target ${formatUtcAndLocal(target.at, zone, target.local)}; recoverable window: ${describeWindow(plan.window, zone)}`);
    plan.plan.forEach((step, index) => onOutput(`plan ${index + 1}. ${step}`));
    const result = await pointInTimeRecovery(common);
    if (result.stoppedBefore) onOutput(`proof: replay stopped before the first commit after the target (${result.stoppedBefore}); last replayed commit ${result.lastReplayedCommitAt ?? 'none'}`);
    for (const line of result.next) onOutput(`next: ${line}`);
    return {
      backupId: result.baseBackup,
      // The newest data restored: the last commit replayed, else the target itself.
      snapshotAt: result.lastReplayedCommitAt ?? result.target.utc,
      recoveredTo: result.target.utc,
      ...(result.into ? { database: result.into } : result.database ? { database: result.database } : {}),
      ...(result.dataDir ? { dataDir: result.dataDir, port: result.port, socketDir: result.socketDir } : {}),
      ...(result.timeline !== undefined ? { timeline: result.timeline } : {}),
    };
  },
});

/** Proves WAL archiving end to end: switch to a new segment and wait for it in the repository. */
export const walCheckAction = defineAction({
  name: 'wal.check',
  summary: 'switch the target to a new WAL segment and wait until the finished one is in the repository (archiving works, and recent commits are archived)',
  paramsSchema: z.object({ timeout_seconds: z.number().int().positive().default(60) }).strict(),
  outputs: ['segment', 'waitedMs'],
  describe: (args) => `switch WAL on the target and wait up to ${args.timeout_seconds} s for the segment to be archived`,
  async run({ with: args, signal, onProgress, onOutput, services }) {
    const repo = await needRepo(services);
    const where = await locate(services, {}, signal);
    const { checkArchiving } = await import('../../engine/wal/archiving.js');
    const result = await checkArchiving({ conn: where.conn, store: repo.store, timeoutMs: args.timeout_seconds * 1000, signal, onProgress });
    onOutput(`${result.segment} arrived in the repository after ${result.waitedMs} ms (${result.key})`);
    return { segment: result.segment, waitedMs: result.waitedMs };
  },
});
