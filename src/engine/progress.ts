/** What long operations report: the TUI draws it, the plain renderer prints it, tests read it. */
export interface Progress {
  phase: string;
  /** Bytes moved so far (stored bytes for backups, read bytes for restores). */
  bytes?: number;
  /** Expected total, when known (e.g. the database size as an estimate). */
  totalBytes?: number;
  /** A human line, e.g. pg_dump's "dumping contents of table public.orders". */
  message?: string;
}

export type ProgressCallback = (progress: Progress) => void;

/** Calls `fn` at most every `ms` milliseconds, so drawing progress never slows the byte stream. */
export function throttle(fn: ProgressCallback | undefined, ms = 200): ProgressCallback {
  let last = 0;
  return (progress) => {
    if (!fn) return;
    const now = Date.now();
    if (progress.message !== undefined || now - last >= ms) {
      last = now;
      fn(progress);
    }
  };
}
