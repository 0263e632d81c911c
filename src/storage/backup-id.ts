import { LifelineError } from '../errors.js';

/**
 * Backup ids: `20261124T020000Z-daily`, then `-2`, `-3`, ... when taken. They sort by start time
 * (to the second), read well, and are safe as one path segment / object key segment.
 */

const ID_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-([a-z](?:[a-z0-9-]*[a-z])?)(?:-([2-9]|[1-9]\d+))?$/;
const LABEL_PATTERN = /^[a-z](?:[a-z0-9-]*[a-z])?$/;
/** What a user may type where a backup is expected: an id, a prefix of one, latest, latest-verified. */
const REF_PATTERN = /^[0-9A-Za-z][0-9A-Za-z-]{0,99}$/;

export interface ParsedBackupId {
  id: string;
  /** The start time the id encodes (second precision, UTC). */
  time: Date;
  label: string;
  /** 1 for the plain id, 2 for `-2`, ... */
  sequence: number;
}

export function formatBackupId(options: { time: Date; label: string; sequence?: number }): string {
  const { time, label, sequence = 1 } = options;
  if (!LABEL_PATTERN.test(label)) throw new Error(`Invalid backup label ${JSON.stringify(label)}`);
  if (!Number.isInteger(sequence) || sequence < 1) throw new Error(`Invalid backup id sequence ${sequence}`);
  const stamp = time.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  return sequence === 1 ? `${stamp}-${label}` : `${stamp}-${label}-${sequence}`;
}

/** Parses a well-formed backup id, or returns undefined. */
export function parseBackupId(id: string): ParsedBackupId | undefined {
  const match = ID_PATTERN.exec(id);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, label, sequence] = match;
  const time = new Date(Date.UTC(+year, +month - 1, +day, +hour, +minute, +second));
  // Reject 20261399T... and friends: the date must round-trip.
  if (Number.isNaN(time.getTime()) || formatBackupId({ time, label }).slice(0, 16) !== id.slice(0, 16)) return undefined;
  return { id, time, label, sequence: sequence ? Number(sequence) : 1 };
}

export function isBackupId(id: string): boolean {
  return parseBackupId(id) !== undefined;
}

/**
 * Validates what a user typed where a backup is expected (an id, a unique prefix, `latest`,
 * `latest-verified`) before it goes near a path or key. Throws USAGE.
 */
export function validateBackupRef(ref: string): string {
  if (!REF_PATTERN.test(ref)) {
    throw new LifelineError('USAGE', `Not a backup id: ${JSON.stringify(ref)}`, {
      hint: 'Backup ids look like 20261124T020000Z-daily (a unique prefix, latest or latest-verified also work); see `lifeline list`.',
    });
  }
  return ref;
}

/** Orders ids newest first: by encoded time, then sequence, then label. */
export function compareBackupIdsNewestFirst(a: string, b: string): number {
  const pa = parseBackupId(a);
  const pb = parseBackupId(b);
  if (pa && pb) {
    const byTime = pb.time.getTime() - pa.time.getTime();
    if (byTime !== 0) return byTime;
    if (pa.sequence !== pb.sequence) return pb.sequence - pa.sequence;
  }
  return a < b ? 1 : a > b ? -1 : 0;
}

export interface ReserveBackupIdOptions {
  label: string;
  time?: Date;
  /**
   * Atomically claims an id in the store; resolves true when this call created the claim, false
   * when the id is taken. Uniqueness across processes rests entirely on this being atomic.
   */
  claim: (id: string) => Promise<boolean>;
  /** Give up after this many taken ids (default 1000). */
  maxAttempts?: number;
}

/** Tries `<time>-<label>`, then `-2`, `-3`, ... until a claim succeeds. */
export async function reserveBackupId(options: ReserveBackupIdOptions): Promise<string> {
  const { label, time = new Date(), claim, maxAttempts = 1000 } = options;
  for (let sequence = 1; sequence <= maxAttempts; sequence++) {
    const id = formatBackupId({ time, label, sequence });
    if (await claim(id)) return id;
  }
  throw new LifelineError('BACKUP_FAILED', `Could not reserve a backup id for ${formatBackupId({ time, label })}: ${maxAttempts} are taken`, {
    hint: 'Something is creating backups in a loop; check the schedule and the repository.',
  });
}
