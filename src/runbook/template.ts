import { LifelineError } from '../errors.js';

/**
 * {{params.x}}, {{target.database}}, {{steps.<id>.<output>}} and {{run.id}} in runbook strings.
 * References are checked when the runbook loads (see validate.ts) and resolved just before the
 * step that uses them, so a step sees the outputs of the steps before it.
 */

const TEMPLATE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const WHOLE_TEMPLATE = /^\{\{\s*([^{}]*?)\s*\}\}$/;

export const targetFields = ['name', 'database', 'host', 'sandbox', 'label'] as const;
export const runFields = ['id', 'operator', 'host', 'started_at'] as const;

export type TemplateRef =
  | { kind: 'params'; name: string }
  | { kind: 'target'; field: (typeof targetFields)[number] }
  | { kind: 'steps'; step: string; output: string }
  | { kind: 'run'; field: (typeof runFields)[number] };

/** What the run is pointed at, as runbooks may mention it. */
export interface TargetInfo {
  name: string;
  database?: string;
  host?: string;
  sandbox: boolean;
  /** A description for people, never with a password. */
  label: string;
}

export interface TemplateScope {
  params: Record<string, string>;
  target: TargetInfo;
  steps: Record<string, Record<string, unknown>>;
  run: { id: string; operator: string; host: string; started_at: string };
}

export function parseRef(expression: string): TemplateRef | { error: string } {
  const parts = expression.split('.');
  const [root] = parts;
  if (root === 'params' && parts.length === 2 && parts[1]) return { kind: 'params', name: parts[1] };
  if (root === 'target' && parts.length === 2) {
    const field = parts[1] as (typeof targetFields)[number];
    if ((targetFields as readonly string[]).includes(field)) return { kind: 'target', field };
    return { error: `target has no field "${parts[1]}" (known: ${targetFields.join(', ')})` };
  }
  if (root === 'run' && parts.length === 2) {
    const field = parts[1] as (typeof runFields)[number];
    if ((runFields as readonly string[]).includes(field)) return { kind: 'run', field };
    return { error: `run has no field "${parts[1]}" (known: ${runFields.join(', ')})` };
  }
  if (root === 'steps' && parts.length === 3 && parts[1] && parts[2]) return { kind: 'steps', step: parts[1], output: parts[2] };
  return { error: `"{{${expression}}}" is not a reference: use params.<name>, target.<field>, steps.<step>.<output> or run.<field>` };
}

/** Every {{...}} expression inside a string. */
export function templateExpressions(text: string): string[] {
  return [...text.matchAll(TEMPLATE)].map((match) => match[1]);
}

/** Every string inside a value (for static checks), with its path below the value. */
export function stringsIn(value: unknown, path: Array<string | number> = []): Array<{ path: Array<string | number>; text: string }> {
  if (typeof value === 'string') return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((item, index) => stringsIn(item, [...path, index]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => stringsIn(item, [...path, key]));
  return [];
}

export interface RenderOptions {
  /**
   * Dry-run: step outputs do not exist yet; show `<steps.x.y>` instead of failing.
   */
  placeholderMissing?: boolean;
}

function lookup(ref: TemplateRef, scope: TemplateScope, options: RenderOptions, expression: string): unknown {
  const missing = (why: string) => {
    if (options.placeholderMissing) return `<${expression}>`;
    throw new LifelineError('USAGE', `{{${expression}}} has no value: ${why}.`, {
      hint: ref.kind === 'steps' ? `Step "${ref.step}" did not run to completion or has no output "${ref.output}".` : undefined,
    });
  };
  switch (ref.kind) {
    case 'params':
      return Object.hasOwn(scope.params, ref.name) ? scope.params[ref.name] : missing(`param "${ref.name}" is not set`);
    case 'target': {
      const value = scope.target[ref.field];
      return value === undefined ? missing(`the target has no ${ref.field}`) : value;
    }
    case 'run':
      return scope.run[ref.field];
    case 'steps': {
      const outputs = Object.hasOwn(scope.steps, ref.step) ? scope.steps[ref.step] : undefined;
      if (!outputs || !Object.hasOwn(outputs, ref.output)) return missing(`step "${ref.step}" has no output "${ref.output}"`);
      return outputs[ref.output];
    }
  }
}

function resolveExpression(expression: string, scope: TemplateScope, options: RenderOptions): unknown {
  const ref = parseRef(expression);
  if ('error' in ref) throw new LifelineError('USAGE', ref.error);
  return lookup(ref, scope, options, expression);
}

function asText(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** Renders one string: a string that is exactly one template keeps the value's own type. */
export function renderString(text: string, scope: TemplateScope, options: RenderOptions = {}): unknown {
  const whole = WHOLE_TEMPLATE.exec(text);
  if (whole) return resolveExpression(whole[1], scope, options);
  return text.replace(TEMPLATE, (_, expression: string) => asText(resolveExpression(expression, scope, options)));
}

/** Renders every string inside a value (objects and arrays are copied). */
export function renderValue(value: unknown, scope: TemplateScope, options: RenderOptions = {}): unknown {
  if (typeof value === 'string') return renderString(value, scope, options);
  if (Array.isArray(value)) return value.map((item) => renderValue(item, scope, options));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderValue(item, scope, options)]));
  }
  return value;
}

/** Renders a string that must stay a string (titles, prompts, phrases). */
export function renderText(text: string, scope: TemplateScope, options: RenderOptions = {}): string {
  return asText(renderString(text, scope, options));
}
