import type { z } from 'zod';
import { describeIssues, valueAt, type PathSegment } from './problems.js';
import type { Registry } from './registry.js';
import { normalizeCheckRef, stepKind, type RollbackStep, type Runbook } from './schema.js';
import { parseRef, stringsIn, templateExpressions } from './template.js';

/**
 * What the schema cannot see: names the registry does not know, `with:` values its actions
 * refuse, duplicate step ids, and templates that refer to nothing (or to a later step).
 * Everything here is found before the first step runs.
 */
export interface SemanticProblem {
  path: PathSegment[];
  message: string;
}

interface StepScope {
  /** Steps whose outputs a string may read, with the outputs each declares. */
  visible: Map<string, readonly string[]>;
}

export function validateRunbook(runbook: Runbook, registry: Registry): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const outputsOf = (step: RollbackStep): readonly string[] => (step.action ? (registry.action(step.action)?.outputs ?? []) : []);

  const seen = new Map<string, string>();
  const claimId = (id: string, path: PathSegment[]) => {
    const earlier = seen.get(id);
    if (earlier) problems.push({ path: [...path, 'id'], message: `step id "${id}" is already used at ${earlier}` });
    else seen.set(id, path.map(String).join('.'));
  };

  const checkTemplates = (value: unknown, path: PathSegment[], scope: StepScope, allowed: 'all' | 'run-only' = 'all') => {
    for (const { path: inner, text } of stringsIn(value)) {
      for (const expression of templateExpressions(text)) {
        const where = [...path, ...inner];
        const ref = parseRef(expression);
        if ('error' in ref) {
          problems.push({ path: where, message: ref.error });
          continue;
        }
        if (allowed === 'run-only' && ref.kind !== 'run') {
          problems.push({ path: where, message: `a param default may only use {{run.<field>}}, not {{${expression}}}` });
        } else if (ref.kind === 'params' && !Object.hasOwn(runbook.params, ref.name)) {
          const known = Object.keys(runbook.params);
          problems.push({ path: where, message: `{{${expression}}} refers to no param (declared: ${known.length ? known.join(', ') : 'none'})` });
        } else if (ref.kind === 'steps') {
          const outputs = scope.visible.get(ref.step);
          if (!outputs) {
            const exists = seen.has(ref.step) || runbook.steps.some((step) => step.id === ref.step);
            problems.push({
              path: where,
              message: exists ? `{{${expression}}} refers to step "${ref.step}", which does not run before this point` : `{{${expression}}} refers to no step "${ref.step}"`,
            });
          } else if (!outputs.includes(ref.output)) {
            problems.push({
              path: where,
              message: `{{${expression}}}: step "${ref.step}" has no output "${ref.output}" (outputs: ${outputs.length ? outputs.join(', ') : 'none'})`,
            });
          }
        }
      }
    }
  };

  const checkArgs = (schema: z.ZodType, args: Record<string, unknown>, path: PathSegment[]) => {
    // A query is run as written: no param, output or target value may become part of SQL text.
    if (typeof args.sql === 'string' && templateExpressions(args.sql).length) {
      problems.push({ path: [...path, 'sql'], message: 'templates ({{...}}) are not allowed in `sql`: a query runs exactly as written, so no value can change it' });
    }
    const result = schema.safeParse(args);
    if (result.success) return;
    for (const issue of describeIssues(result.error.issues, args)) {
      // A templated value is checked once rendered, when the step runs.
      if (stringsIn(valueAt(args, issue.path)).some(({ text }) => templateExpressions(text).length > 0)) continue;
      problems.push({ path: [...path, ...issue.path], message: issue.message });
    }
  };

  const checkStep = (step: RollbackStep, path: PathSegment[], scope: StepScope) => {
    claimId(step.id, path);
    if (step.action) {
      const action = registry.action(step.action);
      if (!action) {
        problems.push({ path: [...path, 'action'], message: `unknown action "${step.action}" (known: ${registry.actions().map((a) => a.name).join(', ')})` });
      } else {
        checkArgs(action.paramsSchema, step.with ?? {}, [...path, 'with']);
      }
    }
    for (const phase of ['pre', 'post'] as const) {
      step.checks?.[phase]?.forEach((raw, index) => {
        const ref = normalizeCheckRef(raw);
        const checkPath = [...path, 'checks', phase, index];
        const check = registry.check(ref.check);
        if (!check) {
          problems.push({
            path: typeof raw === 'string' ? checkPath : [...checkPath, 'check'],
            message: `unknown check "${ref.check}" (known: ${registry.checks().map((c) => c.name).join(', ')})`,
          });
        } else {
          checkArgs(check.paramsSchema, ref.with, typeof raw === 'string' ? checkPath : [...checkPath, 'with']);
        }
      });
    }
    // Rollback steps are checked on their own, with their own scope. Post-checks run after the
    // action, so they may read the step's own outputs.
    const { id: _id, on_failure: _onFailure, checks, ...rest } = step as RollbackStep & { on_failure?: unknown };
    checkTemplates(rest, path, scope);
    if (checks?.pre) checkTemplates(checks.pre, [...path, 'checks', 'pre'], scope);
    if (checks?.post) checkTemplates(checks.post, [...path, 'checks', 'post'], { visible: new Map(scope.visible).set(step.id, outputsOf(step)) });
    if (stepKind(step) !== 'action' && step.with) problems.push({ path: [...path, 'with'], message: '`with` belongs to an action step' });
  };

  for (const [name, param] of Object.entries(runbook.params)) {
    if (param.default !== undefined) checkTemplates(param.default, ['params', name, 'default'], { visible: new Map() }, 'run-only');
  }

  const visible = new Map<string, readonly string[]>();
  runbook.steps.forEach((step, index) => {
    const path: PathSegment[] = ['steps', index];
    checkStep(step, path, { visible: new Map(visible) });
    // Rollback steps run after the step (which may have failed half-way): they see it and the ones before.
    const rollbackScope = new Map(visible).set(step.id, outputsOf(step));
    step.on_failure?.rollback.forEach((rollback, rollbackIndex) => {
      checkStep(rollback, [...path, 'on_failure', 'rollback', rollbackIndex], { visible: new Map(rollbackScope) });
      rollbackScope.set(rollback.id, outputsOf(rollback));
    });
    visible.set(step.id, outputsOf(step));
  });

  const everyStep = { visible };
  if (runbook.measure.recovered && !runbook.steps.some((step) => step.id === runbook.measure.recovered)) {
    problems.push({ path: ['measure', 'recovered'], message: `refers to no step "${runbook.measure.recovered}"` });
  }
  checkTemplates(runbook.measure.data_through, ['measure', 'data_through'], everyStep);
  checkTemplates(runbook.measure.incident, ['measure', 'incident'], everyStep);
  if (runbook.kind === 'recovery' && runbook.targets.rpo && !runbook.measure.incident) {
    problems.push({ path: ['measure'], message: 'a recovery runbook with an RPO target needs `measure.incident` (the incident or target time)' });
  }
  return problems;
}
