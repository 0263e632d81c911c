import type { QueryConfig } from 'pg';
import { z } from 'zod';
import { LifelineError } from '../errors.js';
import type { RunServices } from './registry.js';
import { locate, whereShape } from './engine-services.js';

export const sqlAssertionSchema = z
  .object({
    sql: z.string().min(1).describe('a query returning one row whose first column is true when the data is good'),
    name: z.string().optional(),
    ...whereShape,
  })
  .strict();

export interface AssertionOutcome {
  ok: boolean;
  detail: string;
  value: unknown;
}

/** Runs the query in a read-only transaction: an assertion may look, never change. */
export async function evaluateAssertion(
  args: z.output<typeof sqlAssertionSchema>,
  services: RunServices,
  signal: AbortSignal,
): Promise<AssertionOutcome> {
  if (!services.connect && !args.sandbox) throw new LifelineError('USAGE', 'No database connection is available to this run.', { hint: 'Run it through `lifeline run`, which knows the target.' });
  const { withClient } = await import('../postgres/client.js');
  const { conn: target } = await locate(services, args, signal);
  const label = args.name ?? 'assertion';
  return withClient(
    target,
    async (client) => {
      await client.query('BEGIN READ ONLY');
      try {
        // Extended protocol: exactly one statement, so "SELECT true; COMMIT; DROP ..." cannot leave READ ONLY.
        const result = await client.query({ text: args.sql, rowMode: 'array', queryMode: 'extended' } as QueryConfig);
        const value: unknown = result.rows[0]?.[0];
        if (!result.rows.length) return { ok: false, value: null, detail: `${label}: the query returned no row` };
        const ok = value === true || value === 't' || value === 'true';
        return { ok, value, detail: `${label}: ${ok ? 'true' : `returned ${JSON.stringify(value)}, expected true`}` };
      } finally {
        await client.query('ROLLBACK').catch(() => undefined);
      }
    },
    { signal, env: services.env },
  );
}
