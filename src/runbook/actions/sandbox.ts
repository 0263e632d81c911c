import { z } from 'zod';
import { LifelineError } from '../../errors.js';
import { defineAction } from '../registry.js';
import { needPaths } from '../engine-services.js';

const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'lowercase letters, digits, - and _ (at most 40)');

/** A local PostgreSQL cluster lifeline owns: the demo shop ("default") or an empty one to restore into. */
export const sandboxCreateAction = defineAction({
  name: 'sandbox.create',
  summary: 'bring up a lifeline sandbox cluster (created, seeded with the demo shop when asked, started)',
  paramsSchema: z
    .object({
      name: name.default('default').describe('"default" is the demo shop; other names are separate clusters, e.g. drill-restore'),
      seed: z.boolean().optional().describe('seed the demo shop database (default: true for "default", false otherwise)'),
      rows: z.number().int().min(10).max(10_000_000).optional().describe('rows of demo data when seeding (default ~100 000)'),
      fresh: z.boolean().default(false).describe('destroy an existing sandbox of this name first (a leftover of an earlier run)'),
    })
    .strict(),
  outputs: ['name', 'url', 'port', 'database', 'created'],
  describe: (args) =>
    `${args.fresh ? `destroy any sandbox "${args.name}" left over, then ` : ''}bring up sandbox "${args.name}"${(args.seed ?? args.name === 'default') ? ' seeded with the demo shop' : ' (empty)'}`,
  async run({ with: args, signal, onOutput, services }) {
    const paths = needPaths(services);
    const { ensureSandbox, destroySandbox } = await import('../../postgres/sandbox.js');
    if (args.fresh) {
      const { existed } = await destroySandbox({ paths, name: args.name, signal });
      if (existed) onOutput(`removed the sandbox "${args.name}" an earlier run left behind`);
    }
    const sandbox = await ensureSandbox({ paths, name: args.name, seed: args.seed ?? args.name === 'default', rows: args.rows, signal, onNote: (text) => onOutput(text) });
    onOutput(`sandbox "${sandbox.name}" ${sandbox.created ? 'created' : 'running'}: ${sandbox.url} (data in ${sandbox.dataDir})`);
    return { name: sandbox.name, url: sandbox.url, port: sandbox.port, database: sandbox.database, created: sandbox.created };
  },
});

export const sandboxDestroyAction = defineAction({
  name: 'sandbox.destroy',
  summary: 'stop a lifeline sandbox cluster and delete its files',
  paramsSchema: z
    .object({
      name: name.describe('the sandbox to remove (no default: name it, e.g. drill-restore)'),
      missing_ok: z.boolean().default(true).describe('a sandbox that does not exist is not an error'),
    })
    .strict(),
  outputs: ['name', 'existed'],
  describe: (args) => `stop sandbox "${args.name}" and delete its files`,
  async run({ with: args, signal, onOutput, services }) {
    const paths = needPaths(services);
    const { destroySandbox } = await import('../../postgres/sandbox.js');
    const { existed } = await destroySandbox({ paths, name: args.name, signal });
    if (!existed && !args.missing_ok) throw new LifelineError('SANDBOX', `Sandbox "${args.name}" does not exist.`);
    onOutput(existed ? `sandbox "${args.name}" stopped and removed` : `sandbox "${args.name}" did not exist`);
    return { name: args.name, existed };
  },
});
