import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { LifelineError, errnoCode } from '../errors.js';
import { describeIssues, formatPath, RunbookInvalidError, type PathSegment, type RunbookProblem } from './problems.js';
import type { Registry } from './registry.js';
import { runbookSchema, type Runbook } from './schema.js';
import { validateRunbook } from './validate.js';

/** A runbook that passed the schema and every static check: safe to start. */
export interface LoadedRunbook {
  runbook: Runbook;
  /** Absolute path of the YAML file (or a label for text given directly). */
  file: string;
  /** sha256 of the file's bytes: a resumed run refuses a runbook changed underneath it. */
  sha256: string;
  /** Where a field is in the file, for messages that point at it. */
  locate(path: readonly PathSegment[]): { line: number; column: number };
}

export interface ParseRunbookOptions {
  text: string;
  file: string;
  registry: Registry;
}

export type RunbookCheck = { ok: true; loaded: LoadedRunbook } | { ok: false; problems: RunbookProblem[] };

/** Parses and checks a runbook, collecting every problem with its line and column. */
export function checkRunbookText({ text, file, registry }: ParseRunbookOptions): RunbookCheck {
  const lineCounter = new LineCounter();
  // logLevel error: YAML's warnings (e.g. a collection used as a key) become schema problems, not stderr noise.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const position = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length) {
    return {
      ok: false,
      problems: doc.errors.map((error) => ({ file, ...position(error.pos[0]), path: '', message: `YAML: ${error.message.split('\n')[0]}` })),
    };
  }
  const locate = (fieldPath: readonly PathSegment[]) => position(offsetOf(doc, fieldPath));
  const problemAt = (fieldPath: readonly PathSegment[], message: string): RunbookProblem => ({ file, ...locate(fieldPath), path: formatPath(fieldPath), message });

  let raw: unknown;
  try {
    // Aliases are resolved here: an unknown one, or an alias bomb (billion laughs), throws.
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, problems: [{ file, line: 1, column: 1, path: '', message: `YAML: ${(error as Error).message.split('\n')[0]}` }] };
  }
  const parsed = runbookSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, problems: sortProblems(describeIssues(parsed.error.issues, raw).map((problem) => problemAt(problem.path, problem.message))) };
  }
  const semantic = validateRunbook(parsed.data, registry);
  if (semantic.length) return { ok: false, problems: sortProblems(semantic.map((problem) => problemAt(problem.path, problem.message))) };
  return {
    ok: true,
    loaded: { runbook: parsed.data, file, sha256: createHash('sha256').update(text).digest('hex'), locate },
  };
}

export function parseRunbook(options: ParseRunbookOptions): LoadedRunbook {
  const result = checkRunbookText(options);
  if (!result.ok) throw new RunbookInvalidError(result.problems);
  return result.loaded;
}

export function readRunbookText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new LifelineError('USAGE', `Cannot read runbook ${file}: ${errnoCode(error) === 'ENOENT' ? 'no such file' : (error as Error).message}`, {
      hint: 'Give a runbook id (see `lifeline runbooks list`) or the path of a YAML file.',
    });
  }
}

export function loadRunbookFile(file: string, registry: Registry): LoadedRunbook {
  const absolute = path.resolve(file);
  return parseRunbook({ text: readRunbookText(absolute), file: absolute, registry });
}

function sortProblems(problems: RunbookProblem[]): RunbookProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Offset of the deepest existing node on the path: a missing field points at its parent. */
function offsetOf(doc: Document, fieldPath: readonly PathSegment[]): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (const segment of fieldPath) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === segment);
      if (!pair) break;
      const value = pair.value as Node | null;
      // An empty value (key with nothing after it) has no range of its own: point at the key.
      offset = value?.range?.[0] ?? (pair.key as Node).range?.[0] ?? offset;
      node = value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return offset;
}

/** Where runbooks are found: the user's folder first (it may override a shipped id), then the shipped ones. */
export interface RunbookDir {
  dir: string;
  source: 'user' | 'shipped';
}

export function shippedRunbookDir(): string {
  // src/runbook/loader.ts and dist/runbook/loader.js both sit two levels below the package root.
  return fileURLToPath(new URL('../../runbooks/', import.meta.url));
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
