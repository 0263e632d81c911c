import { execa } from 'execa';
import { redactValue } from '../../redact.js';
import type { AlertSink } from '../../config/policy.js';

export type AlertKind =
  | 'backup.succeeded'
  | 'backup.failed'
  | 'verify.succeeded'
  | 'verify.failed'
  | 'prune.done'
  | 'prune.failed'
  | 'status.warning'
  | 'status.critical'
  | 'status.ok'
  | 'drill.overdue';

export interface AlertEvent {
  kind: AlertKind;
  severity: 'info' | 'warning' | 'critical';
  /** One line for people (also Slack's `text`). */
  summary: string;
  host: string;
  at: string;
  details?: Record<string, unknown>;
}

export interface SinkResult {
  sink: string;
  ok: boolean;
  detail?: string;
}

/**
 * Sends an event to every configured sink, in parallel. Never throws: a failing sink must not fail
 * the backup it reports on; its failure comes back in the results for the caller to print.
 */
export async function sendAlert(event: AlertEvent, sinks: AlertSink[]): Promise<SinkResult[]> {
  return Promise.all(sinks.map((sink) => sendOne(event, sink).catch((error: Error): SinkResult => ({ sink: describeSink(sink), ok: false, detail: error.message }))));
}

export function describeSink(sink: AlertSink): string {
  if (sink.type === 'webhook') {
    const url = new URL(sink.url);
    return `webhook ${url.protocol}//${url.host}${url.pathname}`; // never the query string: tokens live there
  }
  return `command ${sink.argv[0]}`;
}

async function sendOne(event: AlertEvent, sink: AlertSink): Promise<SinkResult> {
  const name = describeSink(sink);
  const body = JSON.stringify(redactValue({ text: `[lifeline ${event.severity}] ${event.summary}`, ...event }));
  if (sink.type === 'webhook') {
    const response = await fetch(sink.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...sink.headers },
      body,
      signal: AbortSignal.timeout(sink.timeoutMs),
    }).catch((error: Error) => {
      throw new Error(error.name === 'TimeoutError' ? `no answer within ${sink.timeoutMs} ms` : error.message);
    });
    await response.arrayBuffer().catch(() => undefined);
    return response.ok ? { sink: name, ok: true } : { sink: name, ok: false, detail: `answered HTTP ${response.status}` };
  }
  const result = await execa(sink.argv[0], sink.argv.slice(1), { input: body, reject: false, timeout: sink.timeoutMs, all: true });
  if (result.timedOut) return { sink: name, ok: false, detail: `did not finish within ${sink.timeoutMs} ms` };
  return result.exitCode === 0
    ? { sink: name, ok: true }
    : { sink: name, ok: false, detail: `exit ${result.exitCode}${result.all ? `: ${String(result.all).trim().split('\n').pop()}` : ''}` };
}
