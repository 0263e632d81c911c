import { z } from 'zod';
import { LifelineError } from '../../errors.js';
import { defineAction } from '../registry.js';
import { describeWhere } from '../engine-services.js';
import { evaluateAssertion, sqlAssertionSchema } from '../sql-assertion.js';

/** Fails the step unless a query's first column of its first row is true. */
export const sqlAssertAction = defineAction({
  name: 'sql.assert',
  summary: 'run a read-only query on the target; fail unless it returns true',
  paramsSchema: sqlAssertionSchema,
  outputs: ['value'],
  describe: (args) => `assert ${args.name ?? 'SQL'} on ${describeWhere(args)}: ${oneLine(args.sql)}`,
  async run({ with: args, signal, services }) {
    const result = await evaluateAssertion(args, services, signal);
    if (!result.ok) throw new LifelineError('VERIFY_FAILED', result.detail, { hint: 'The data does not look as the runbook expects: investigate before going on.' });
    return { value: result.value };
  },
});

export const oneLine = (sql: string) => sql.replace(/\s+/g, ' ').trim();
export type SqlAssertArgs = z.output<typeof sqlAssertionSchema>;
