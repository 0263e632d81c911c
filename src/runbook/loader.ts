import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
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
