import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LifelineError } from '../errors.js';

/*
 * Where runbooks are, without parsing them: light enough for the TUI's first frame, which lists
 * them by title before the YAML parser and the schema have loaded (loader.ts validates them).
 */

/** Where runbooks are found: the user's folder first (it may override a shipped id), then the shipped ones. */
export interface RunbookDir {
  dir: string;
  source: 'user' | 'shipped';
}

export function shippedRunbookDir(): string {
  // src/runbook/files.ts and dist/runbook/files.js both sit two levels below the package root.
  return fileURLToPath(new URL('../../runbooks/', import.meta.url));
}

/** The user's runbook folder: the configured `runbookDir`, else runbooks/ in the config folder. */
export function userRunbookDir(configDir: string, configured?: string): string {
  return configured ?? path.join(configDir, 'runbooks');
}

export function runbookDirs(options: { userDir?: string; shippedDir?: string }): RunbookDir[] {
  const dirs: RunbookDir[] = [];
  if (options.userDir) dirs.push({ dir: path.resolve(options.userDir), source: 'user' });
  dirs.push({ dir: options.shippedDir ?? shippedRunbookDir(), source: 'shipped' });
  return dirs;
}

export interface RunbookFileEntry {
  file: string;
  /** The id a file is known by: its file name without .yaml/.yml. */
  name: string;
  source: RunbookDir['source'];
}

export function runbookFiles(dirs: RunbookDir[]): RunbookFileEntry[] {
  const seen = new Set<string>();
  const entries: RunbookFileEntry[] = [];
  for (const { dir, source } of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const fileName of names.filter((name) => /\.ya?ml$/.test(name)).sort()) {
      const name = fileName.replace(/\.ya?ml$/, '');
      if (seen.has(name)) continue;
      seen.add(name);
      entries.push({ file: path.join(dir, fileName), name, source });
    }
  }
  return entries;
}

/** A runbook argument: a path to a YAML file, or the id of a runbook in one of the folders. */
export function findRunbook(nameOrFile: string, dirs: RunbookDir[]): string {
  if (/\.ya?ml$/.test(nameOrFile) || nameOrFile.includes(path.sep) || fs.existsSync(nameOrFile)) return path.resolve(nameOrFile);
  const entries = runbookFiles(dirs);
  const match = entries.find((entry) => entry.name === nameOrFile);
  if (match) return match.file;
  throw new LifelineError('USAGE', `No runbook "${nameOrFile}".`, {
    hint: entries.length ? `Known runbooks: ${entries.map((entry) => entry.name).join(', ')} (or give a path to a YAML file).` : 'Give the path of a YAML runbook file.',
  });
}

/**
 * Each runbook's id and title as its file states it on a top-level `title:` line (the id when it
 * is written some other way), read without the YAML parser: what the home screen lists in its
 * first frame, in the same order, until the validated list replaces it.
 */
export function quickRunbookList(dirs: RunbookDir[]): Array<{ id: string; title: string; source: RunbookDir['source'] }> {
  return runbookFiles(dirs).map((entry) => {
    let text = '';
    try {
      text = fs.readFileSync(entry.file, 'utf8');
    } catch {
      // unreadable: the validated list will say why
    }
    const line = /^title:[ \t]*(.*?)[ \t]*$/m.exec(text)?.[1] ?? '';
    const quoted = /^(["'])(.*)\1$/.exec(line);
    const title = quoted ? quoted[2] : line;
    return { id: entry.name, title: title && !/^[>|&*!]/.test(title) ? title : entry.name, source: entry.source };
  });
}
