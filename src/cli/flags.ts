import { LifelineError } from '../errors.js';
import { validateName } from '../postgres/names.js';

/**
 * Flag values as people type them, checked strictly before anything runs: "1e3", "0x10", "",
 * " 5" or "3.5" where a whole number is expected are usage errors, not numbers.
 */
export function wholeNumberFlag(flag: string, value: string | undefined, range: { min: number; max: number; unit?: string }): number {
  const text = String(value ?? '');
  const number = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!(number >= range.min && number <= range.max)) {
    throw new LifelineError('USAGE', `${flag} takes a whole number${range.unit ? ` of ${range.unit}` : ''} from ${range.min} to ${range.max}, not ${JSON.stringify(text)}.`, {
      hint: `e.g. ${flag} ${range.unit === 'seconds' ? Math.max(range.min, 60) : range.min}`,
    });
  }
  return number;
}

/** Seconds to wait, 0 allowed (at most 30 days). */
export function secondsFlag(flag: string, value: string | undefined, options: { min?: number } = {}): number {
  return wholeNumberFlag(flag, value, { min: options.min ?? 0, max: 30 * 86_400, unit: 'seconds' });
}

/** A database, schema or role name given on the command line. */
export function nameFlag(flag: string, value: string): string {
  return validateName(value, flag);
}
