import { formatDuration } from '../runbook/duration.js';

export { formatDuration };

export { formatBytes } from '../format.js';
import { formatBytes } from '../format.js';

export const formatRate = (bytesPerSecond: number | undefined) => (bytesPerSecond === undefined ? '? /s' : `${formatBytes(bytesPerSecond)}/s`);

/** A running clock: 0:42, 12:05, 1:02:03. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h ? String(m).padStart(2, '0') : String(m);
  return `${h ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}

export function formatAge(iso: string, now = Date.now()): string {
  const ms = now - Date.parse(iso);
  if (Number.isNaN(ms)) return '?';
  if (ms < 0) return 'in the future';
  if (ms < 60_000) return 'just now';
  // An age reads in the units that matter: minutes past the hour, hours past the day.
  const unit = ms >= 86_400_000 ? 3_600_000 : ms >= 3_600_000 ? 60_000 : 1000;
  return `${formatDuration(Math.round(ms / unit) * unit)} ago`;
}

/** A time in UTC and, when configured, in the operator's zone: "2026-11-24 20:30:00 UTC (21:30:00 Europe/Berlin)". */
export function formatTime(iso: string, zone?: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const utc = `${date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '').replace(/Z$/, '')} UTC`;
  if (!zone || zone === 'UTC') return utc;
  try {
    const local = new Intl.DateTimeFormat('sv-SE', { timeZone: zone, dateStyle: 'short', timeStyle: 'medium' }).format(date);
    return `${utc} (${local} ${zone})`;
  } catch {
    return utc;
  }
}

/** Cuts a line to a width, with an ellipsis. */
export function truncate(text: string, width: number): string {
  if (width <= 1) return text.slice(0, Math.max(0, width));
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** Milliseconds of a runbook duration such as "90s", "15m", "1h30m" (undefined if unreadable). */
export function parseDurationText(text: string | undefined): number | undefined {
  if (!text || !/^(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?$/.test(text)) return undefined;
  const units: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([dhms])/g)) total += Number(amount) * units[unit];
  return total;
}
