import fs from 'node:fs';
import path from 'node:path';

/** Every file under `dir` whose raw bytes contain `needle` (relative paths). */
export function filesContaining(dir: string, needle: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && fs.readFileSync(path.join(entry.parentPath, entry.name)).includes(Buffer.from(needle)))
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}
