import { LifelineError } from '../errors.js';

/** One thing wrong with a runbook, where the operator can find it in the file. */
export interface RunbookProblem {
  file: string;
  line: number;
  column: number;
  /** The offending field, e.g. steps[2].confirm.type (empty for the whole document). */
  path: string;
  message: string;
}

export type PathSegment = string | number;

export function formatPath(path: readonly PathSegment[]): string {
  return path.reduce<string>((text, segment) => (typeof segment === 'number' ? `${text}[${segment}]` : text ? `${text}.${segment}` : segment), '');
}

export function formatProblem(problem: RunbookProblem): string {
  return `${problem.file}:${problem.line}:${problem.column}: ${problem.path ? `${problem.path}: ` : ''}${problem.message}`;
}

/** A runbook that cannot run: exit 2, before any step, with every location. */
export class RunbookInvalidError extends LifelineError {
  readonly problems: RunbookProblem[];

  constructor(problems: RunbookProblem[]) {
    const [first] = problems;
    const more = problems.length - 1;
    super('USAGE', `Invalid runbook: ${formatProblem(first)}`, {
      hint: more > 0 ? `${more} more problem${more > 1 ? 's' : ''}: run \`lifeline runbooks validate ${first.file}\` to see them all.` : 'Fix the runbook and run it again; `lifeline runbooks schema` gives editors the JSON Schema.',
    });
    this.problems = problems;
  }
}

interface IssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
}

/** zod issues in an operator's words, each with the path of the field it is about. */
export function describeIssues(issues: readonly IssueLike[], root: unknown): Array<{ path: PathSegment[]; message: string }> {
  return issues.flatMap((issue) => {
    const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
    if (issue.code === 'unrecognized_keys' && issue.keys) return issue.keys.map((key) => ({ path: [...path, key], message: `unknown field "${key}"` }));
    if (issue.code === 'invalid_type' && valueAt(root, path) === undefined && path.length) {
      return [{ path, message: `missing required field "${String(path[path.length - 1])}"` }];
    }
    return [{ path, message: issue.message }];
  });
}

export function valueAt(value: unknown, path: readonly PathSegment[]): unknown {
  let current = value;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}
