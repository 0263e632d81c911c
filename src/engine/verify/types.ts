import type { VerifyLevel } from '../../config/schema.js';

export const LEVEL_ORDER: VerifyLevel[] = ['integrity', 'archive', 'restore', 'consistency'];

export const levelRank = (level: VerifyLevel) => LEVEL_ORDER.indexOf(level);

/** One thing that was checked, and what was found. */
export interface VerifyCheck {
  level: VerifyLevel;
  name: string;
  ok: boolean;
  detail?: string;
}

export interface VerifyReport {
  backupId: string;
  requestedLevel: VerifyLevel;
  /** The highest level whose checks (and those below) all passed. */
  passedLevel?: VerifyLevel;
  ok: boolean;
  startedAt: string;
  finishedAt: string;
  /** Where restore/consistency ran: "sandbox" or a redacted staging URL. */
  restoredInto?: string;
  checks: VerifyCheck[];
}

export function passedLevelOf(checks: VerifyCheck[], requested: VerifyLevel): VerifyLevel | undefined {
  let passed: VerifyLevel | undefined;
  for (const level of LEVEL_ORDER.slice(0, levelRank(requested) + 1)) {
    const own = checks.filter((c) => c.level === level);
    if (!own.length || own.some((c) => !c.ok)) break;
    passed = level;
  }
  return passed;
}
