/**
 * Runs `worker` on items added over time, at most `concurrency` at once. The first failure is
 * kept and later items are skipped; `drain()` waits until nothing runs and rejects with it.
 */
export interface WorkQueue<T> {
  add(item: T): void;
  drain(): Promise<void>;
}

export function workQueue<T>(concurrency: number, worker: (item: T) => Promise<void>, onFailure?: (error: unknown) => void): WorkQueue<T> {
  const pending: T[] = [];
  let running = 0;
  let failure: { error: unknown } | undefined;
  let idle: (() => void)[] = [];
  const pump = () => {
    while (!failure && running < concurrency && pending.length) {
      const item = pending.shift()!;
      running++;
      worker(item)
        .catch((error: unknown) => {
          if (!failure) {
            failure = { error };
            onFailure?.(error);
          }
        })
        .finally(() => {
          running--;
          pump();
        });
    }
    if (running === 0 && (failure || !pending.length)) {
      const waiting = idle;
      idle = [];
      waiting.forEach((resolve) => resolve());
    }
  };
  return {
    add(item) {
      pending.push(item);
      pump();
    },
    async drain() {
      if (running > 0 || (pending.length && !failure)) await new Promise<void>((resolve) => idle.push(resolve));
      if (failure) throw failure.error;
    },
  };
}
