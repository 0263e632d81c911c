import type { Command } from 'commander';
import path from 'node:path';
import { EXIT, LifelineError } from '../../errors.js';
import type { Run } from '../main.js';
import type { Context } from '../context.js';

export function registerMaintenance(program: Command, run: Run): void {
  program
    .command('maintenance <on|off|status>')
    .description('refuse new connections and end sessions (database strategy) or run the configured commands')
    .option('--operator <name>', 'who changes the mode')
    .action(
      run<{ operator?: string }>(async (ctx, flags, [action]) => {
        if (!['on', 'off', 'status'].includes(action)) throw new LifelineError('USAGE', `Unknown maintenance action "${action}".`, { hint: 'Use on, off or status.' });
        const engine = await import('../../engine/maintenance/maintenance.js');
        const { operatorName } = await import('../../engine/operator.js');
        const options = { ...(await maintenanceOptions(ctx)), operator: operatorName(flags.operator, ctx.env) };
        if (action === 'status') {
          const status = await engine.maintenanceStatus(options);
          ctx.out.result({ maintenance: status });
          ctx.out.line(
            `maintenance ${status.on ? 'ON' : 'off'} for ${status.database}` +
              (status.state ? ` since ${status.state.since} by ${status.state.operator}` : '') +
              (status.otherSessions !== undefined ? `; ${status.otherSessions} other session(s)` : ''),
          );
          return EXIT.ok;
        }
        const result = action === 'on' ? await engine.maintenanceOn(options) : await engine.maintenanceOff(options);
        ctx.out.result({ maintenance: result });
        ctx.out.line(
          action === 'on'
            ? `maintenance ON for ${result.status.database}${result.changed ? '' : ' (already on)'}${result.terminatedSessions ? `; ended ${result.terminatedSessions} session(s)` : ''}`
            : result.changed
              ? `maintenance off for ${result.status.database}; previous settings restored`
              : `maintenance was not on for ${result.status.database}`,
        );
        if (result.stillAllowed?.length) {
          ctx.out.note(`note: CONNECT was revoked from every other role; these login roles can still connect: ${result.stillAllowed.join(', ')} (the role maintenance runs as, and roles inheriting it). An application logging in as one of them is not kept out.`);
        }
        for (const session of result.remainingSessions ?? []) ctx.out.note(`warning: session ${session.pid} (${session.user}) is still connected: ${session.reason}`);
        if (result.remainingSessions?.length) {
          ctx.out.note('hint: new connections are refused, but end these sessions yourself (or as a superuser) before restoring.');
          return EXIT.warning;
        }
        return EXIT.ok;
      }),
    );
}

export async function maintenanceOptions(ctx: Context) {
  const target = await ctx.connect();
  const m = ctx.config.maintenance;
  const strategy =
    m.strategy === 'command' ? { kind: 'command' as const, on: m.onCommand ?? [], off: m.offCommand ?? [], status: m.statusCommand } : { kind: 'database' as const };
  return { conn: target.conn, strategy, stateDir: path.join(ctx.paths.state, 'maintenance'), signal: ctx.signal };
}
