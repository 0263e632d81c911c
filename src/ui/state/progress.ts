import type { Progress } from '../../engine/progress.js';

/**
 * Rate and ETA from progress reports: bytes per second over the last few seconds (so a stall
 * shows as a falling rate, not an average that hides it), and the time left at that rate.
 */
export interface ProgressView {
  phase: string;
  message?: string;
  bytes?: number;
  totalBytes?: number;
  /** 0..1 when the total is known. */
  fraction?: number;
  /** Bytes per second over the recent window. */
  rate?: number;
  etaMs?: number;
  samples: Array<{ at: number; bytes: number }>;
}

const WINDOW_MS = 5000;

export function nextProgress(previous: ProgressView | undefined, progress: Progress, at: number): ProgressView {
  const samePhase = previous && previous.phase === progress.phase;
  const bytes = progress.bytes ?? (samePhase ? previous.bytes : undefined);
  const totalBytes = progress.totalBytes ?? (samePhase ? previous.totalBytes : undefined);
  let samples = samePhase ? previous.samples : [];
  if (bytes !== undefined) {
    samples = [...samples, { at, bytes }];
    // Keep the newest sample older than the window as the anchor, and everything after it.
    while (samples.length > 2 && at - samples[1].at >= WINDOW_MS) samples = samples.slice(1);
  }
  let rate: number | undefined;
  if (samples.length >= 2) {
    const first = samples[0];
    const last = samples[samples.length - 1];
    const seconds = (last.at - first.at) / 1000;
    if (seconds > 0) rate = Math.max(0, (last.bytes - first.bytes) / seconds);
  }
  const fraction = bytes !== undefined && totalBytes ? Math.min(1, bytes / totalBytes) : undefined;
  const etaMs = rate && bytes !== undefined && totalBytes && totalBytes > bytes ? ((totalBytes - bytes) / rate) * 1000 : totalBytes !== undefined && bytes !== undefined && bytes >= totalBytes ? 0 : undefined;
  return { phase: progress.phase, message: progress.message ?? (samePhase ? previous.message : undefined), bytes, totalBytes, fraction, rate, etaMs, samples };
}
