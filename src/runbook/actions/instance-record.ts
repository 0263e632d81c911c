import { z } from 'zod';
import { defineAction } from '../registry.js';
import { describeWhere, locate, whereShape } from '../engine-services.js';

const factName = /^[a-z][a-z0-9_]*$/;

/**
 * Puts into the audit trail (as this step's outputs) what lifeline did not do itself: the facts
 * the operator gives, e.g. the provider, the target time and the new instance's name after a
 * provider's point-in-time restore, beside the identity of the database the run now reaches
 * (server version, system identifier, the newest replayed commit). Reads, never changes.
 */
export const instanceRecordAction = defineAction({
  name: 'instance.record',
  summary: "record facts about a database lifeline did not create (a provider's point-in-time restore) and that database's identity in the audit trail",
  paramsSchema: z
    .object({
      facts: z
        .record(z.string().regex(factName, 'lowercase letters, digits and "_"'), z.string())
        .default({})
        .describe('name: value pairs to record, e.g. provider, target_time, instance (values may use {{params.x}})'),
      ...whereShape,
    })
    .strict(),
  outputs: ['facts', 'label', 'database', 'serverVersion', 'systemIdentifier', 'inRecovery', 'lastReplayAt', 'recordedAt'],
  describe: (args) =>
    `record ${Object.entries(args.facts).map(([name, value]) => `${name} ${JSON.stringify(value)}`).join(', ') || 'the identity'} of ${describeWhere(args)}`,
  async run({ with: args, signal, services, onOutput }) {
    const where = await locate(services, args, signal);
    const [{ withClient }, { serverFacts }] = await Promise.all([import('../../postgres/client.js'), import('../../postgres/facts.js')]);
    const identity = await withClient(
      where.conn,
      async (client) => {
        const facts = await serverFacts(client);
        // A promoted copy remembers its last replayed commit until it restarts; null otherwise.
        const replay = await client
          .query<{ at: Date | null }>('SELECT pg_last_xact_replay_timestamp() AS at')
          .then((result) => result.rows[0]?.at ?? null)
          .catch(() => null);
        return { facts, replay };
      },
      { signal, env: services.env },
    );
    for (const [name, value] of Object.entries(args.facts)) onOutput(`${name}: ${value}`);
    onOutput(`instance: ${where.label}, ${identity.facts.version.split(' on ')[0]}${identity.facts.systemIdentifier ? `, system identifier ${identity.facts.systemIdentifier}` : ''}`);
    if (identity.replay) onOutput(`newest replayed commit: ${identity.replay.toISOString()}`);
    return {
      facts: args.facts,
      label: where.label,
      database: identity.facts.database,
      serverVersion: identity.facts.version,
      ...(identity.facts.systemIdentifier ? { systemIdentifier: identity.facts.systemIdentifier } : {}),
      inRecovery: identity.facts.inRecovery,
      ...(identity.replay ? { lastReplayAt: identity.replay.toISOString() } : {}),
      recordedAt: new Date().toISOString(),
    };
  },
});
