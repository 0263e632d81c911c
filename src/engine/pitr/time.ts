import { LifelineError } from '../../errors.js';

/** A recovery target: one instant, microseconds kept as typed (recovery_target_time honours them). */
export interface TargetTime {
  /** The instant, to the millisecond. */
  at: Date;
  /** "YYYY-MM-DD HH:MM:SS[.ffffff]+00": what goes into recovery_target_time (explicit offset). */
  postgres: string;
  /** ISO 8601 in UTC, with the typed fraction. */
  utc: string;
  /** The zone the input was read in (or "offset" when it carried one) and the same instant shown there. */
  zone: string;
  local: string;
  input: string;
}

export const ACCEPTED_FORMS = [
  '"YYYY-MM-DD HH:MM:SS" (read in --tz, else the configured timezone, else the system zone)',
  '"YYYY-MM-DDTHH:MM:SS+02:00" / "...Z" (ISO 8601 with an offset)',
];

const MIN_YEAR = 1970;
const MAX_YEAR = 9999;

const PATTERN = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** The zone to read and show times in: --tz, else the config's timezone, else the system's. */
export function resolveZone(flag?: string, configured?: string): string {
  const zone = flag ?? configured ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw new LifelineError('USAGE', `Unknown time zone "${zone}"${flag ? '' : ' (from the config)'}.`, {
      hint: 'Use an IANA zone name such as UTC, Europe/Berlin or America/New_York.',
    });
  }
  return zone;
}

/**
 * Parses a recovery target strictly: a full date and time to the second, optionally with a
 * fraction and an offset. Anything else ("10:00", "yesterday", "2025-02-30 10:00:00") is a
 * usage error listing the accepted forms: guessing a target time is how the wrong data comes back.
 */
export function parseTargetTime(input: string, zone: string): TargetTime {
  const text = input.trim();
  const m = PATTERN.exec(text);
  const refuse = (why: string) =>
    new LifelineError('USAGE', `Cannot use ${JSON.stringify(input.length > 80 ? `${input.slice(0, 77)}...` : input)} as a recovery target: ${why}.`, {
      hint: `Accepted forms: ${ACCEPTED_FORMS.join('; or ')}.`,
    });
  if (!m) throw refuse('not a complete date and time');
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const fraction = m[7] ?? '';
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) throw refuse(`${m[1]}-${m[2]}-${m[3]} is not a date`);
  if (hour > 23 || minute > 59 || second > 59) throw refuse(`${m[4]}:${m[5]}:${m[6]} is not a time of day`);
  // Before 1970 no PostgreSQL WAL exists; past 9999 no timestamp round-trips (and Date.UTC reads 0-99 as 1900-1999).
  if (year < MIN_YEAR) throw refuse(`${m[1]} is before ${MIN_YEAR}`);
  const wallClock = Date.UTC(year, month - 1, day, hour, minute, second);

  let epochSeconds: number;
  let readIn: string;
  if (m[8]) {
    const offset = parseOffset(m[8]);
    if (offset === undefined) throw refuse(`${m[8]} is not a UTC offset`);
    epochSeconds = wallClock / 1000 - offset * 60;
    readIn = m[8].toUpperCase() === 'Z' ? 'UTC' : `UTC${m[8]}`;
  } else {
    const candidates = localToUtc(wallClock, zone);
    if (candidates.length === 0) throw refuse(`${text} does not exist in ${zone} (skipped by a daylight-saving change)`);
    if (candidates.length > 1) throw refuse(`${text} happens twice in ${zone} (daylight-saving change); add the offset you mean`);
    epochSeconds = candidates[0] / 1000;
    readIn = zone;
  }
  if (new Date(epochSeconds * 1000).getUTCFullYear() > MAX_YEAR) throw refuse(`it is after the year ${MAX_YEAR}`);
  const at = new Date(epochSeconds * 1000 + Number((fraction + '000').slice(0, 3)));
  const frac = fraction ? `.${fraction}` : '';
  const utcWall = new Date(epochSeconds * 1000).toISOString().slice(0, 19);
  return {
    at,
    postgres: `${utcWall.replace('T', ' ')}${frac}+00`,
    utc: `${utcWall}${frac}Z`,
    zone: readIn,
    local: formatInZone(new Date(epochSeconds * 1000), zone, frac),
    input,
  };
}

/** "2026-11-24 23:04:36.123 Europe/Berlin (+01:00)". */
export function formatInZone(at: Date, zone: string, fraction?: string): string {
  const parts = wallParts(at, zone);
  const offset = (Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) - Math.floor(at.getTime() / 1000) * 1000) / 60_000;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const frac = fraction ?? (at.getUTCMilliseconds() ? `.${pad(at.getUTCMilliseconds(), 3)}` : '');
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${parts.year}-${pad(parts.month)}-${pad(parts.day)} ${pad(parts.hour)}:${pad(parts.minute)}:${pad(parts.second)}${frac} ${zone} (${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)})`;
}

/**
 * "2026-11-24 22:04:36.123 UTC (2026-11-24 23:04:36.123 Europe/Berlin (+01:00))"; where the zone
 * is UTC itself, the UTC time alone (the same time twice reads as two times at 3 a.m.).
 */
export function formatUtcAndLocal(at: Date, zone: string, local = formatInZone(at, zone)): string {
  return zone === 'UTC' || zone === 'Etc/UTC' ? formatUtc(at) : `${formatUtc(at)} (${local})`;
}

/** "2026-11-24 23:04:36.123 UTC". */
export function formatUtc(at: Date): string {
  return `${at.toISOString().replace('T', ' ').replace('Z', '')} UTC`;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function parseOffset(text: string): number | undefined {
  if (text.toUpperCase() === 'Z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(text);
  if (!m) return undefined;
  const hours = Number(m[2]);
  const minutes = Number(m[3] ?? 0);
  if (hours > 15 || minutes > 59) return undefined;
  return (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

function wallParts(at: Date, zone: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const get = (type: string) => Number(format.formatToParts(at).find((p) => p.type === type)?.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** The UTC instants (ms) whose wall clock in `zone` is `wallClock` (given as if it were UTC): 0, 1 or 2. */
function localToUtc(wallClock: number, zone: string): number[] {
  const offsets = new Set<number>();
  // Offsets in force around that day cover any DST change.
  for (const probe of [-36, -12, 0, 12, 36]) {
    const at = new Date(wallClock + probe * 3600_000);
    const p = wallParts(at, zone);
    offsets.add(Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - at.getTime());
  }
  const out: number[] = [];
  for (const offset of offsets) {
    const candidate = wallClock - offset;
    const p = wallParts(new Date(candidate), zone);
    if (Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) === wallClock && !out.includes(candidate)) out.push(candidate);
  }
  return out.sort((a, b) => a - b);
}
