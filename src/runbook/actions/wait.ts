import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { abortError } from '../../errors.js';
import { defineAction } from '../registry.js';

/** Waits a number of seconds (e.g. for replication or a deploy to settle); Ctrl-C ends it at once. */
export const waitAction = defineAction({
  name: 'wait',
  summary: 'wait a number of seconds',
  paramsSchema: z.object({ seconds: z.coerce.number().min(0).max(86_400) }).strict(),
  outputs: ['waitedSeconds'],
  describe: (args) => `wait ${args.seconds} s`,
  async run({ with: args, signal, onProgress }) {
    const started = Date.now();
    const end = started + args.seconds * 1000;
    try {
      for (let left = end - Date.now(); left > 0; left = end - Date.now()) {
        onProgress({ phase: 'waiting', message: `${Math.ceil(left / 1000)} s left` });
        await sleep(Math.min(left, 1000), undefined, { signal });
      }
    } catch (error) {
      if (signal.aborted) throw abortError(signal);
      throw error;
    }
    return { waitedSeconds: Math.round((Date.now() - started) / 100) / 10 };
  },
});
