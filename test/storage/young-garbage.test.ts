import { PerformanceObserver, constants, performance, type PerformanceEntry } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { chunkCollector, collectYoungGarbage } from '../../src/young-garbage.js';

const MiB = 1024 * 1024;

/*
 * V8 reports every collection to perf_hooks; the ones lifeline asks for are marked forced (only
 * an explicit gc() call is), so they can be told apart from those V8 runs on its own.
 */
let observer: PerformanceObserver | undefined;
afterEach(() => observer?.disconnect());

function forcedMinorCollections(): PerformanceEntry[] {
  const seen: PerformanceEntry[] = [];
  observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = entry.detail as { kind: number; flags: number };
      if (detail.kind === constants.NODE_PERFORMANCE_GC_MINOR && detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) seen.push(entry);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return seen;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('collectYoungGarbage', () => {
  it('runs a young-generation collection, without --expose-gc on the command line', async () => {
    const seen = forcedMinorCollections();
    collectYoungGarbage();
    await until(() => seen.length > 0);
    expect(seen).toHaveLength(1);
  });

  it('a chunk collector collects once per 8 MiB passed on, not per chunk', async () => {
    const seen = forcedMinorCollections();
    const collect = chunkCollector();
    for (let i = 0; i < 128; i++) collect(64 * 1024);
    for (let i = 0; i < 127; i++) collect(64 * 1024);
    collect(2 * MiB);
    // Entries arrive in order: once the marker's is here, every earlier one is too.
    const marker = performance.now();
    collectYoungGarbage();
    await until(() => seen.some((entry) => entry.startTime >= marker));
    expect(seen.filter((entry) => entry.startTime < marker)).toHaveLength(2);
  });
});
