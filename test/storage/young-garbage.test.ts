import { describe, expect, it } from 'vitest';
import { collectYoungGarbage } from '../../src/young-garbage.js';

const MiB = 1024 * 1024;

describe('collectYoungGarbage', () => {
  it('frees buffers that died young, without --expose-gc on the command line', async () => {
    let chunks: Buffer[] | undefined = Array.from({ length: 384 }, () => Buffer.alloc(64 * 1024, 1));
    const full = process.memoryUsage().arrayBuffers;
    expect(chunks).toHaveLength(384);
    chunks = undefined;
    collectYoungGarbage();
    // V8 sweeps what it found dead partly in the background: wait for it, not a time.
    while (process.memoryUsage().arrayBuffers > full - 16 * MiB) await new Promise((resolve) => setImmediate(resolve));
    expect(process.memoryUsage().arrayBuffers).toBeLessThanOrEqual(full - 16 * MiB);
  });
});
