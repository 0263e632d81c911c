import { abortError } from '../../errors.js';
import { oneLine } from '../actions/sql-assert.js';
import { defineCheck } from '../registry.js';
import { evaluateAssertion, sqlAssertionSchema } from '../sql-assertion.js';

export const sqlAssertCheck = defineCheck({
  name: 'sql.assert',
  summary: 'a read-only query on the target returns true',
  paramsSchema: sqlAssertionSchema,
  describe: (args) => `${args.name ?? 'SQL assertion'}: ${oneLine(args.sql)}`,
  async run({ with: args, signal, services }) {
    try {
      const { ok, detail } = await evaluateAssertion(args, services, signal);
      return { ok, detail };
    } catch (error) {
      if (signal.aborted) throw abortError(signal);
      // A query error (bad SQL, missing table) is a failed check the operator can act on.
      return { ok: false, detail: `${args.name ?? 'assertion'}: ${error instanceof Error ? error.message : String(error)}` };
    }
  },
});
