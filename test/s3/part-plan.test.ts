import { describe, expect, it } from 'vitest';
import { MAX_PARTS, partPlan } from '../../src/storage/s3/part-plan.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const configured = { partSize: 16 * MiB, queueSize: 4 };

describe('partPlan', () => {
  it('keeps the configured parts while 10,000 of them (10% to spare) hold the hint, or without a hint', () => {
    expect(partPlan(configured)).toEqual(configured);
    expect(partPlan(configured, 100 * GiB)).toEqual(configured);
    expect(partPlan(configured, 16 * MiB * MAX_PARTS * 0.9)).toEqual(configured);
  });

  it('makes the parts larger beyond that, so that the upload fits, with fewer in flight', () => {
    for (const hint of [150 * GiB, 500 * GiB, 2 * 1024 * GiB]) {
      const plan = partPlan(configured, hint);
      expect(plan.partSize * MAX_PARTS).toBeGreaterThan(hint);
      expect(plan.partSize % MiB).toBe(0);
      expect(plan.queueSize).toBeGreaterThanOrEqual(1);
      // The memory the parts hold stays what was configured while two of them fit in it.
      if (plan.partSize * 2 <= configured.partSize * 5) expect(plan.partSize * (plan.queueSize + 1)).toBeLessThanOrEqual(configured.partSize * 5);
    }
    expect(partPlan(configured, 2 * 1024 * GiB)).toEqual({ partSize: 234 * MiB, queueSize: 1 });
  });

  it('never asks for parts over 5 GiB, S3\'s largest', () => {
    expect(partPlan(configured, 100 * 1024 * GiB).partSize).toBe(5 * GiB);
  });
});
