import path from 'node:path';
import { z } from 'zod';
import { defineAction, type RunServices } from '../registry.js';
import { locate, needConfig, needPaths } from '../engine-services.js';

/**
 * Maintenance mode around a recovery, with the configured strategy: `database` (new connections
 * refused, the application's sessions ended, the previous settings saved first and put back
 * exactly by off) or `command` (the operator's own on/off commands).
 */
const maintenanceArgs = z
  .object({
    database: z.string().min(1).optional().describe('another database on the target server (default: the target database)'),
  })
  .strict();

export async function maintenanceOptions(services: RunServices, args: { database?: string }, operator: string, signal: AbortSignal) {
  const config = needConfig(services);
  const where = await locate(services, args, signal);
  const m = config.maintenance;
  const strategy =
    m.strategy === 'command' ? { kind: 'command' as const, on: m.onCommand ?? [], off: m.offCommand ?? [], status: m.statusCommand } : { kind: 'database' as const };
  return { conn: where.conn, label: where.label, strategy, stateDir: path.join(needPaths(services).state, 'maintenance'), operator, signal };
}

export const maintenanceOnAction = defineAction({
  name: 'maintenance.on',
  summary: 'turn maintenance mode on: refuse new connections and end the application\'s sessions (or run the configured command)',
  paramsSchema: maintenanceArgs,
  outputs: ['database', 'changed', 'terminatedSessions', 'remainingSessions', 'strategy'],
  describe: (args) => `turn maintenance mode on for ${args.database ?? 'the target database'} (new connections refused, open sessions ended)`,
  async run({ with: args, signal, onOutput, services, run }) {
    const options = await maintenanceOptions(services, args, run.operator, signal);
    const { maintenanceOn } = await import('../../engine/maintenance/maintenance.js');
    const result = await maintenanceOn(options);
    onOutput(
      `maintenance ON for ${result.status.database} (${options.strategy.kind} strategy)${result.changed ? '' : ', it was already on'}` +
        (result.terminatedSessions ? `; ended ${result.terminatedSessions} session(s)` : ''),
    );
    if (result.stillAllowed?.length) onOutput(`login roles that can still connect: ${result.stillAllowed.join(', ')} (the role maintenance runs as, and roles inheriting it)`);
    for (const session of result.remainingSessions ?? []) onOutput(`session ${session.pid} of ${session.user} is still connected: ${session.reason}`, 'stderr');
    return {
      database: result.status.database,
      changed: result.changed,
      terminatedSessions: result.terminatedSessions ?? 0,
      remainingSessions: result.remainingSessions?.length ?? 0,
      strategy: options.strategy.kind,
    };
  },
});

export const maintenanceOffAction = defineAction({
  name: 'maintenance.off',
  summary: 'turn maintenance mode off, putting back exactly the settings saved when it went on',
  paramsSchema: maintenanceArgs,
  outputs: ['database', 'changed', 'strategy'],
  describe: (args) => `turn maintenance mode off for ${args.database ?? 'the target database'} (previous settings restored)`,
  async run({ with: args, signal, onOutput, services, run }) {
    const options = await maintenanceOptions(services, args, run.operator, signal);
    const { maintenanceOff } = await import('../../engine/maintenance/maintenance.js');
    const result = await maintenanceOff(options);
    onOutput(result.changed ? `maintenance off for ${result.status.database}; previous settings restored` : `maintenance was not on for ${result.status.database}`);
    return { database: result.status.database, changed: result.changed, strategy: options.strategy.kind };
  },
});
