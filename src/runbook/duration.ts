/** Durations for people: "0.4s", "12s", "4m 12s", "1h 5m", "327d 22h". */
export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < 10_000) return `${sign}${(abs / 1000).toFixed(1)}s`;
  let s = Math.round(abs / 1000);
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  // Two units are enough to read; the exact milliseconds stay in the audit trail.
  const parts = [d && `${d}d`, h && `${h}h`, m && `${m}m`, s && `${s}s`].filter(Boolean).slice(0, 2);
  return `${sign}${parts.join(' ') || '0s'}`;
}
