import type { Context } from './context.js';
import type { AlertEvent, AlertKind } from '../engine/monitor/alerts.js';

/** Sends an alert to the configured sinks; a sink that fails is reported, never fatal. */
export async function notify(ctx: Context, kind: AlertKind, severity: AlertEvent['severity'], summary: string, details?: Record<string, unknown>): Promise<void> {
  if (!ctx.config.alerts.length) return;
  const [{ sendAlert }, { hostName }] = await Promise.all([import('../engine/monitor/alerts.js'), import('../engine/operator.js')]);
  const results = await sendAlert({ kind, severity, summary, host: hostName(), at: new Date().toISOString(), details }, ctx.config.alerts);
  for (const r of results) if (!r.ok) ctx.out.note(`warning: alert to ${r.sink} failed: ${r.detail}`);
}
