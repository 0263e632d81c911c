import { z } from 'zod';
import { defineCheck } from '../registry.js';
import { checkFailed, locate, whereShape } from '../engine-services.js';

/**
 * The role lifeline connects as can do what the coming step needs. Better to learn at the first
 * step that the role cannot create databases than half-way through a recovery.
 */
export const privilegeNeeds = ['backup', 'restore-swap', 'restore-in-place', 'restore-into', 'maintenance'] as const;
type Need = (typeof privilegeNeeds)[number];

interface RoleFacts {
  role: string;
  superuser: boolean;
  createdb: boolean;
  database: string;
  owner: boolean;
  signalBackend: boolean;
  unreadable: string[];
  unreadableCount: number;
}

const WHY: Record<Need, string> = {
  backup: 'a backup',
  'restore-swap': 'a swap restore',
  'restore-in-place': 'an in-place restore',
  'restore-into': 'a restore into a side database',
  maintenance: 'maintenance mode',
};

function lacks(facts: RoleFacts, need: Need): string[] {
  if (facts.superuser) return [];
  const missing: string[] = [];
  const owner = `ownership of database ${facts.database} (or membership in its owner's role)`;
  switch (need) {
    case 'backup':
      if (facts.unreadableCount) {
        missing.push(`read access to ${facts.unreadableCount} schema(s)/table(s)/sequence(s), e.g. ${facts.unreadable.join(', ')} (grant pg_read_all_data, or USAGE and SELECT on them)`);
      }
      break;
    case 'restore-swap':
      if (!facts.createdb) missing.push('CREATEDB (the restore builds a new database before swapping it in)');
      if (!facts.owner) missing.push(`${owner}, to rename it`);
      break;
    case 'restore-into':
      if (!facts.createdb) missing.push('CREATEDB (the restore creates the side database)');
      break;
    case 'restore-in-place':
      if (!facts.owner) missing.push(`${owner}, to drop and re-create its objects`);
      break;
    case 'maintenance':
      if (!facts.owner) missing.push(`${owner}, to set its connection limit`);
      if (!facts.signalBackend) missing.push("membership in pg_signal_backend, to end the application's sessions");
      break;
  }
  return missing;
}

export const rolePrivilegesCheck = defineCheck({
  name: 'role.privileges',
  summary: 'the role lifeline connects as has the privileges a backup, restore or maintenance step needs',
  paramsSchema: z
    .object({
      for: z
        .union([z.enum(privilegeNeeds), z.array(z.enum(privilegeNeeds)).min(1)])
        .describe('what the role must be able to do: backup, restore-swap, restore-in-place, restore-into, maintenance'),
      ...whereShape,
    })
    .strict(),
  describe: (args) => `the role may do ${[args.for].flat().map((need) => WHY[need]).join(', ')}`,
  async run({ with: args, signal, services }) {
    const needs = [args.for].flat();
    try {
      const where = await locate(services, args, signal);
      const { withClient } = await import('../../postgres/client.js');
      const facts = await withClient(
        where.conn,
        async (client): Promise<RoleFacts> => {
          const { rows } = await client.query<{ role: string; su: boolean; createdb: boolean; database: string; owner: boolean; signal: boolean }>(
            `SELECT current_user AS role, r.rolsuper AS su, r.rolcreatedb AS createdb, current_database() AS database,
                    pg_has_role(d.datdba, 'MEMBER') AS owner, pg_has_role('pg_signal_backend', 'MEMBER') AS signal
               FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()`,
          );
          const me = rows[0];
          let unreadable: string[] = [];
          let unreadableCount = 0;
          if (needs.includes('backup') && !me.su) {
            // The backup's own preflight, within the scope the backup will take (a configured target's preset and filters).
            const [{ privilegeGaps }, { targetScope }] = await Promise.all([import('../../engine/backup/preflight.js'), import('../../config/presets.js')]);
            const gaps = await privilegeGaps(client, where.otherDatabase ? undefined : targetScope(where.settings));
            unreadable = gaps.slice(0, 3).map((gap) => (gap.kind === 'schema-usage' ? `schema ${gap.object}` : gap.object));
            unreadableCount = gaps.length;
          }
          return { role: me.role, superuser: me.su, createdb: me.createdb, database: me.database, owner: me.owner, signalBackend: me.signal, unreadable, unreadableCount };
        },
        { signal, env: services.env },
      );
      const missing = [...new Set(needs.flatMap((need) => lacks(facts, need)))];
      if (missing.length) return { ok: false, detail: `role ${facts.role} on ${where.label} lacks ${missing.join('; ')}` };
      const has = facts.superuser ? 'superuser' : [facts.createdb && 'CREATEDB', facts.owner && `owner of ${facts.database}`, facts.signalBackend && 'pg_signal_backend'].filter(Boolean).join(', ') || 'the grants needed';
      return { ok: true, detail: `role ${facts.role} (${has}) may do ${needs.map((need) => WHY[need]).join(', ')}` };
    } catch (error) {
      return checkFailed(error, signal);
    }
  },
});
