import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface PgpassQuery {
  host?: string;
  port?: number;
  database?: string;
  user?: string;
}

/**
 * libpq's password file (PGPASSFILE or ~/.pgpass): `host:port:database:user:password`, `*` matches
 * anything, `\:` and `\\` escape. Like libpq, a file readable by group or others is ignored.
 */
export function pgpassLookup(query: PgpassQuery, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = env.PGPASSFILE ?? path.join(os.homedir(), '.pgpass');
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile() || (process.platform !== 'win32' && (stat.mode & 0o077) !== 0)) return undefined;
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const host = !query.host || query.host.startsWith('/') ? 'localhost' : query.host;
  const wanted = [host, String(query.port ?? 5432), query.database ?? query.user ?? '', query.user ?? ''];
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const fields = splitFields(line);
    if (fields.length < 5) continue;
    if (wanted.every((value, i) => fields[i] === '*' || fields[i] === value)) return fields.slice(4).join(':');
  }
  return undefined;
}

function splitFields(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '\\' && i + 1 < line.length) current += line[++i];
    else if (ch === ':' && fields.length < 4) {
      fields.push(current);
      current = '';
    } else current += ch;
  }
  fields.push(current);
  return fields;
}
