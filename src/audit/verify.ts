import fs from 'node:fs';
import { LifelineError, errnoCode } from '../errors.js';
import { GENESIS, lineHash, type AuditLine } from './chain.js';

export interface AuditVerification {
  file: string;
  ok: boolean;
  /** Lines read (including a bad one). */
  lines: number;
  runId?: string;
  /** The chain is intact and the last line is the run's end (run-finished). */
  complete: boolean;
  firstBad?: { line: number; reason: string };
  lastHash?: string;
}

/** Reads an audit file and proves every line untouched, or names the first one that is not. */
export function verifyAuditFile(file: string): AuditVerification {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw new LifelineError('USAGE', `No audit file ${file}.`, { hint: 'See `lifeline audit list` for the runs there are.' });
    throw error;
  }
  return verifyAuditText(text, file);
}

export function verifyAuditText(text: string, file = '<text>'): AuditVerification {
  const rows = text.split('\n');
  const torn = rows[rows.length - 1] !== '';
  if (!torn) rows.pop();
  const result: AuditVerification = { file, ok: true, lines: rows.length, complete: false };
  const bad = (line: number, reason: string): AuditVerification => ({ ...result, ok: false, complete: false, lines: line, firstBad: { line, reason } });
  if (!rows.length) return bad(1, 'the file is empty');
  let prev = GENESIS;
  let last: AuditLine | undefined;
  for (const [index, row] of rows.entries()) {
    const number = index + 1;
    if (torn && index === rows.length - 1) return bad(number, 'cut short (no newline at the end): the file was truncated or the write never finished');
    let line: AuditLine;
    try {
      line = JSON.parse(row) as AuditLine;
    } catch {
      return bad(number, 'not a JSON line (edited)');
    }
    if (!line || typeof line !== 'object' || typeof line.hash !== 'string') return bad(number, 'not an audit line (no hash)');
    if (lineHash(line) !== line.hash) return bad(number, 'its content does not match its hash (edited)');
    if (line.prev !== prev) {
      return bad(number, number === 1 ? 'it does not start the chain (lines before it were removed)' : `it does not follow line ${number - 1} (a line was removed, inserted or reordered here)`);
    }
    if (line.seq !== number) return bad(number, `its seq is ${line.seq}, expected ${number} (a line was removed or reordered)`);
    if (result.runId === undefined) result.runId = line.runId;
    else if (line.runId !== result.runId) return bad(number, `it belongs to run ${line.runId}, not ${result.runId}`);
    prev = line.hash;
    last = line;
  }
  return { ...result, complete: last?.kind === 'run-finished', lastHash: prev };
}

/** Parsed lines of an audit file (after verification, or for a best-effort report). */
export function readAuditLines(file: string): AuditLine[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((row) => {
      try {
        return [JSON.parse(row) as AuditLine];
      } catch {
        return [];
      }
    });
}
