import { LifelineError, isLifelineError } from '../errors.js';
import { validateBackupRef } from '../storage/backup-id.js';
import type { LoadedRunbook } from './loader.js';
import { renderText, type TemplateScope } from './template.js';
import type { RunbookParam } from './schema.js';

/**
 * The values a run starts with: --param k=v, then defaults, then (with a person) the operator's
 * answer. Every value is checked against its type before the first step.
 */
export interface ParamQuestion {
  name: string;
  param: RunbookParam;
  /** file:line:column where the param is declared. */
  location: string;
}

export interface ResolveParamsOptions {
  loaded: LoadedRunbook;
  given: Record<string, string>;
  /** For defaults such as {{run.operator}}. */
  run: TemplateScope['run'];
  /** Asks a person; absent when nobody can answer (no TTY). */
  ask?: (question: ParamQuestion) => Promise<string>;
  /**
   * Turns a backup param (an id prefix, latest, latest-verified) into the id it names now, so the
   * run, its audit trail and a resumed run all mean the same backup. Undefined keeps the value as
   * given (latest / latest-verified while the repository has none yet: a later step may take one).
   */
  resolveBackup?: (ref: string) => Promise<string | undefined>;
}

export async function resolveParams({ loaded, given, run, ask, resolveBackup }: ResolveParamsOptions): Promise<Record<string, string>> {
  const declared = loaded.runbook.params;
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(declared, name)) {
      const known = Object.keys(declared);
      throw new LifelineError('USAGE', `Runbook "${loaded.runbook.id}" has no param "${name}".`, {
        hint: known.length ? `Its params: ${known.join(', ')}.` : 'It takes no params.',
      });
    }
  }
  const scope: TemplateScope = { params: {}, target: { name: '', sandbox: false, label: '' }, steps: {}, run };
  const values: Record<string, string> = {};
  for (const [name, param] of Object.entries(declared)) {
    const where = loaded.locate(['params', name]);
    const location = `${loaded.file}:${where.line}:${where.column}`;
    let value = given[name] ?? (param.default !== undefined ? renderText(param.default, scope) : undefined);
    if (value === undefined && param.required) {
      if (!ask) {
        throw new LifelineError('INPUT_NEEDED', `Param "${name}" needs a value and nobody can be asked (no terminal).`, {
          hint: `Pass --param ${name}=<${param.type === 'choice' ? param.choices!.join('|') : param.type}> (declared at ${location}${param.description ? `: ${param.description}` : ''}).`,
        });
      }
      value = await ask({ name, param, location });
    }
    if (value === undefined) continue;
    values[name] = normalizeParam(name, param, value);
    if (param.type === 'backup' && resolveBackup) {
      try {
        values[name] = (await resolveBackup(values[name])) ?? values[name];
      } catch (error) {
        if (!isLifelineError(error) || !['BACKUP_NOT_FOUND', 'BACKUP_AMBIGUOUS', 'USAGE'].includes(error.code)) throw error;
        throw new LifelineError('USAGE', `Param "${name}": ${error.message}`, { hint: error.hint ?? 'See `lifeline list` for the backups in the repository.' });
      }
    }
  }
  return values;
}

const MAX_PARAM_LENGTH = 4096;

export function normalizeParam(name: string, param: RunbookParam, value: string): string {
  const trimmed = value.trim();
  if (!trimmed) throw new LifelineError('USAGE', `Param "${name}" is empty.`, { hint: `Give a value: --param ${name}=<value>.` });
  if (trimmed.length > MAX_PARAM_LENGTH) throw new LifelineError('USAGE', `Param "${name}" is longer than ${MAX_PARAM_LENGTH} characters.`);
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(trimmed)) {
    throw new LifelineError('USAGE', `Param "${name}" contains a control character.`, { hint: 'Give printable text (line breaks and tabs are allowed).' });
  }
  switch (param.type) {
    case 'backup':
      return validateBackupRef(trimmed);
    case 'target':
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(trimmed)) {
        throw new LifelineError('USAGE', `Param "${name}" must name a configured target (or "sandbox"), not ${JSON.stringify(trimmed)}.`, {
          hint: 'Target names are letters, digits, "_", "-" and "."; see `lifeline config get targets`.',
        });
      }
      return trimmed;
    case 'choice':
      if (!param.choices!.includes(trimmed)) {
        throw new LifelineError('USAGE', `Param "${name}" must be one of ${param.choices!.join(', ')} (got "${trimmed}").`);
      }
      return trimmed;
    case 'timestamp':
      return parseTimestamp(name, trimmed);
    default:
      return trimmed;
  }
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?\s*(Z|[+-]\d{2}:?\d{2})$/i;

/** Strict: a date, a time and an offset; shown back in UTC. A time without offset is refused. */
export function parseTimestamp(name: string, text: string): string {
  const match = TIMESTAMP.exec(text);
  const refuse = (why: string) =>
    new LifelineError('USAGE', `Param "${name}": ${JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text)} is not a time lifeline can trust (${why}).`, {
      hint: 'Write it as ISO 8601 with an offset, e.g. 2026-11-24T21:30:00+01:00 or 2026-11-24T20:30:00Z.',
    });
  if (!match) throw refuse(/[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text) ? 'no UTC offset' : 'not ISO 8601');
  const [, year, month, day, hour, minute, second = '00'] = match;
  const offset = match[8].toUpperCase() === 'Z' ? 'Z' : match[8].replace(/^([+-]\d{2}):?(\d{2})$/, '$1:$2');
  const iso = `${year}-${month}-${day}T${hour}:${minute}:${second}${match[7] ?? ''}${offset}`;
  const time = Date.parse(iso);
  const calendar = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  const sameDay = calendar.getUTCFullYear() === Number(year) && calendar.getUTCMonth() === Number(month) - 1 && calendar.getUTCDate() === Number(day);
  if (Number.isNaN(time) || !sameDay || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) throw refuse('no such date or time');
  const instantYear = new Date(time).getUTCFullYear();
  if (Number(year) < 1970 || instantYear > 9999) throw refuse('outside the years 1970 to 9999');
  return new Date(time).toISOString();
}
