/** S3 refuses a multipart upload's part 10,001. */
export const MAX_PARTS = 10_000;
/** S3's largest part. */
const MAX_PART_SIZE = 5 * 1024 ** 3;
const MiB = 1024 * 1024;

export interface PartPlan {
  partSize: number;
  /** Parts uploaded at once. */
  queueSize: number;
}

/**
 * The part size and parts in flight for an upload the caller expects to stay under `sizeHint`
 * bytes: the configured ones, unless `maxParts` parts of that size (10% to spare) would not hold
 * it; then larger parts, and fewer of them at once, so that the memory they hold, (queueSize + 1)
 * × partSize, stays near the configured amount while two parts fit in it (a 2 TB bound gets
 * 234 MiB parts, one at a time: memory then grows with the object, unavoidably).
 */
export function partPlan(configured: PartPlan, sizeHint?: number, maxParts = MAX_PARTS): PartPlan {
  const capacity = maxParts * 0.9;
  if (!sizeHint || sizeHint <= configured.partSize * capacity) return configured;
  const partSize = Math.min(MAX_PART_SIZE, Math.ceil(sizeHint / capacity / MiB) * MiB);
  const inFlight = Math.floor((configured.partSize * (configured.queueSize + 1)) / partSize) - 1;
  return { partSize, queueSize: Math.max(1, inFlight) };
}
