import { z } from 'zod';
import { defineCheck } from '../registry.js';
import { checkFailed } from '../engine-services.js';
import { maintenanceOptions } from '../actions/maintenance.js';

/**
 * Maintenance mode is as the step needs it: `on` (and no application session left, which a swap
 * restore requires) or `off` (the application is back).
 */
export const maintenanceStateCheck = defineCheck({
  name: 'maintenance.state',
  summary: 'maintenance mode is on (with no application session left) or off',
  paramsSchema: z
    .object({
      expect: z.enum(['on', 'off']),
      database: z.string().min(1).optional(),
    })
    .strict(),
  describe: (args) => `maintenance mode is ${args.expect}${args.expect === 'on' ? ' and no application session is left' : ''}`,
  async run({ with: args, signal, services, run }) {
    try {
      const options = await maintenanceOptions(services, args, run.operator, signal);
      const { maintenanceStatus } = await import('../../engine/maintenance/maintenance.js');
      const status = await maintenanceStatus(options);
      const since = status.state ? ` since ${status.state.since} (by ${status.state.operator})` : '';
      const sessions = status.otherSessions === undefined ? '' : `, ${status.otherSessions} other session(s)`;
      const limit = status.connectionLimit === undefined ? '' : `, connection limit ${status.connectionLimit}`;
      const now = `maintenance is ${status.on ? 'ON' : 'off'} for ${status.database}${since}${limit}${sessions}`;
      if (args.expect === 'off') return { ok: !status.on, detail: now };
      if (!status.on) return { ok: false, detail: `${now}: turn it on first (action maintenance.on)` };
      if (status.otherSessions) return { ok: false, detail: `${now}: those sessions must end first (superusers are not held back by the connection limit)` };
      return { ok: true, detail: now };
    } catch (error) {
      return checkFailed(error, signal);
    }
  },
});
