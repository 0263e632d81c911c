import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { defineCheck } from '../registry.js';
import { freeBytes } from '../../fs-util.js';
import { backupRefSchema, backupSize, checkFailed, formatBytes, locate, needRepo, scratchDir, whereShape } from '../engine-services.js';

/**
 * There is room for what a restore of this backup writes. `server`: the database server's data
 * directory must hold a second copy of the database (a swap restore keeps the old one until the
 * operator drops it); lifeline can see it when the server runs on this machine and the role may
 * read data_directory (superuser). `scratch`: lifeline's local scratch folder must hold the dump
 * (parallel restores and disposable verification clusters use it).
 */
export const diskFreeCheck = defineCheck({
  name: 'disk.free',
  summary: "free disk space on the server (or lifeline's scratch folder) covers a restore of the backup",
  paramsSchema: z
    .object({
      backup: backupRefSchema.default('latest-verified'),
      where: z.enum(['server', 'scratch']).default('server').describe("server: the database server's data directory (local servers); scratch: lifeline's scratch folder"),
      factor: z.number().positive().max(1e12).default(1.1).describe('headroom: free space must be at least the size times this'),
      ...whereShape,
    })
    .strict(),
  describe: (args) => `${args.where === 'server' ? 'the database server' : "lifeline's scratch folder"} has room for a restore of ${args.backup}`,
  async run({ with: args, signal, services }) {
    try {
      const repo = await needRepo(services);
      const backup = await repo.resolveBackup(args.backup);
      // What the restored database will take: its size when it was dumped (the dump is compressed).
      const databaseBytes = Number(backup.extra?.databaseSizeBytes ?? 0) || backupSize(backup) * 4;
      const needed = Math.ceil(databaseBytes * args.factor);
      let dir: string;
      let label: string;
      if (args.where === 'scratch') {
        dir = scratchDir(services);
        label = `scratch folder ${dir}`;
      } else {
        const where = await locate(services, args, signal);
        const { withClient } = await import('../../postgres/client.js');
        const dataDir = await withClient(
          where.conn,
          async (client) =>
            (await client.query<{ dir: string | null }>(`SELECT CASE WHEN pg_has_role('pg_read_all_settings', 'MEMBER') THEN current_setting('data_directory') END AS dir`)).rows[0]?.dir,
          { signal, env: services.env },
        );
        if (!dataDir) {
          return { ok: false, detail: `${where.label}: the role may not read data_directory, so lifeline cannot see the server's free space (about ${formatBytes(needed)} is needed); check it on the server` };
        }
        if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
          return { ok: false, detail: `${where.label}: the data directory ${dataDir} is not on this machine, so lifeline cannot see its free space (about ${formatBytes(needed)} is needed); check it on the server` };
        }
        dir = dataDir;
        label = `data directory ${dataDir}`;
      }
      const free = freeBytes(dir);
      const what = `${label}: ${formatBytes(free)} free, ${formatBytes(needed)} needed (database of ${formatBytes(databaseBytes)} at backup ${backup.id}, x${args.factor})`;
      return { ok: free >= needed, detail: free >= needed ? what : `not enough space: ${what}` };
    } catch (error) {
      return checkFailed(error, signal);
    }
  },
});
