import fs from 'node:fs';
import { LifelineError, errnoCode } from '../errors.js';

/** Writes a file the operator named with --out: a bad path is their mistake to fix, not a crash. */
export function writeOutFile(file: string, text: string): void {
  try {
    fs.writeFileSync(file, text, { mode: 0o600 });
  } catch (error) {
    throw new LifelineError('USAGE', `Cannot write ${file}: ${errnoCode(error) ?? (error as Error).message}`, {
      hint: 'Name a file in an existing folder you may write.',
    });
  }
}
