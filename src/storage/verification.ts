import { z } from 'zod';
import { verifyLevelSchema, verifyLevels, type VerifyLevel } from '../config/schema.js';

export { verifyLevels, verifyLevelSchema, type VerifyLevel };

/**
 * backups/<id>/verify/<time>.json: one verification run, kept forever as evidence. The shape is
 * the engine's VerifyReport (src/engine/verify/types.ts) plus a format version.
 */
export const verifyCheckSchema = z.object({
  level: verifyLevelSchema,
  name: z.string(),
  ok: z.boolean(),
  detail: z.string().optional(),
});

export const verificationRecordSchema = z.object({
  formatVersion: z.literal(1).default(1),
  backupId: z.string(),
  /** The level this run aimed for. */
  requestedLevel: verifyLevelSchema,
  /** The highest level whose checks (and those below) all passed in this run. */
  passedLevel: verifyLevelSchema.optional(),
  /** True when requestedLevel passed. */
  ok: z.boolean(),
  startedAt: z.string(),
  finishedAt: z.string(),
  operator: z.string().optional(),
  host: z.string().optional(),
  /** Where restore/consistency ran: "sandbox" or a redacted staging URL. */
  restoredInto: z.string().optional(),
  checks: z.array(verifyCheckSchema).default([]),
  error: z.string().optional(),
});
/** As stored and read back. */
export type VerificationRecord = z.output<typeof verificationRecordSchema>;
/** What addVerification accepts (formatVersion and checks may be left out). */
export type VerificationInput = z.input<typeof verificationRecordSchema>;

export function levelRank(level: VerifyLevel): number {
  return verifyLevels.indexOf(level);
}

/** The highest level a record proves passed, if any. */
export function levelProven(record: VerificationRecord): VerifyLevel | undefined {
  if (record.passedLevel) return record.passedLevel;
  return record.ok ? record.requestedLevel : undefined;
}

/** Highest level passed among records (integrity < archive < restore < consistency). */
export function highestLevel(records: readonly VerificationRecord[]): VerifyLevel | undefined {
  let best: VerifyLevel | undefined;
  for (const record of records) {
    const level = levelProven(record);
    if (level && (best === undefined || levelRank(level) > levelRank(best))) best = level;
  }
  return best;
}

export function meetsLevel(level: VerifyLevel | undefined, minimum: VerifyLevel): boolean {
  return level !== undefined && levelRank(level) >= levelRank(minimum);
}
