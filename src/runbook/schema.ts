import { z } from 'zod';
import { contactSchema } from '../config/schema.js';

/**
 * One definition of a runbook: the loader validates with it, the types derive from it, and
 * `lifeline runbooks schema` turns it into the JSON Schema editors complete against.
 * YAML keys are snake_case (what operators write); the Runner reads the parsed object as is.
 */

const idPattern = /^[a-z][a-z0-9_-]*$/;
const idSchema = z.string().regex(idPattern, 'lowercase letters, digits, "-" and "_", starting with a letter');

/** "90s", "15m", "1h30m", "2d": the units people write in RTO/RPO tables. */
export const durationPattern = /^(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?$/;
export const durationSchema = z
  .string()
  .regex(durationPattern, 'a duration such as 90s, 15m, 1h30m or 2d')
  .refine((value) => value.length > 0, 'a duration such as 90s, 15m, 1h30m or 2d')
  .describe('a duration such as 90s, 15m, 1h30m or 2d');

export const paramTypes = ['backup', 'target', 'timestamp', 'text', 'choice'] as const;

export const paramSchema = z
  .object({
    type: z.enum(paramTypes).describe('backup: a backup id, latest or latest-verified; target: a configured target name; timestamp: ISO 8601 with an offset; text; choice: one of `choices`'),
    description: z.string().optional().describe('shown when the operator is asked for the value'),
    default: z.string().optional().describe('used when the operator gives no value; may use {{run.operator}}'),
    required: z.boolean().default(true).describe('without a default, a required param must be given (--param name=value) or asked for'),
    choices: z.array(z.string().min(1)).min(1).optional().describe('the allowed values of a choice param'),
  })
  .strict()
  .superRefine((param, ctx) => {
    if (param.type === 'choice' && !param.choices) {
      ctx.addIssue({ code: 'custom', path: ['choices'], message: 'a choice param needs `choices`' });
    }
    if (param.type !== 'choice' && param.choices) {
      ctx.addIssue({ code: 'custom', path: ['choices'], message: 'only a choice param has `choices`' });
    }
    if (param.choices && param.default !== undefined && !param.choices.includes(param.default)) {
      ctx.addIssue({ code: 'custom', path: ['default'], message: `the default must be one of: ${param.choices.join(', ')}` });
    }
  });

/** `with:` values: strings may hold {{templates}}; actions validate the resolved values. */
const withSchema = z.record(z.string(), z.unknown()).describe('arguments of the action or check; strings may use {{params.x}}, {{target.database}}, {{steps.<id>.<output>}}');

export const checkRefSchema = z.union([
  z.string().min(1).describe('a check name with no arguments'),
  z
    .object({
      check: z.string().min(1).describe('a live check from the registry, e.g. database.reachable'),
      with: withSchema.optional(),
      title: z.string().optional(),
    })
    .strict(),
]);

export const confirmSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('yes-no'),
      prompt: z.string().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('typed'),
      prompt: z.string().optional(),
      phrase: z.string().default('{{target.database}}').describe('what the operator must type exactly (default: the target database name)'),
    })
    .strict(),
]);

export const failurePolicies = ['ask', 'skip', 'abort'] as const;

const stepShape = {
  id: idSchema.describe('unique within the runbook; later steps read its outputs as {{steps.<id>.<output>}}'),
  title: z.string().min(1),
  explain: z.string().optional().describe('why this step exists and what it does, for a trainee'),
  action: z.string().min(1).optional().describe('an operation from the action registry, e.g. backup, restore, shell, wait'),
  with: withSchema.optional(),
  manual: z.string().min(1).optional().describe('an instruction for the operator, who marks it done or skips it with a reason'),
  checks: z
    .object({
      pre: z.array(checkRefSchema).optional().describe('live checks before the step; re-run until they pass or the operator decides'),
      post: z.array(checkRefSchema).optional().describe('live checks after the step'),
    })
    .strict()
    .optional(),
  confirm: confirmSchema.optional().describe('ask before the step: yes-no, or typed (the operator types a phrase exactly)'),
};

function exactlyOneKind(step: { action?: string; manual?: string; checks?: { pre?: unknown[]; post?: unknown[] } }, ctx: z.RefinementCtx): void {
  if (step.action && step.manual) {
    ctx.addIssue({ code: 'custom', path: ['manual'], message: 'a step has either `action` or `manual`, not both' });
  }
  const hasChecks = Boolean(step.checks?.pre?.length || step.checks?.post?.length);
  if (!step.action && !step.manual && !hasChecks) {
    ctx.addIssue({ code: 'custom', path: [], message: 'a step needs one of `action`, `manual` or `checks`' });
  }
}

/** Rollback steps have the shape of a step without their own on_failure. */
export const rollbackStepSchema = z
  .object(stepShape)
  .strict()
  .superRefine((step, ctx) => {
    exactlyOneKind(step, ctx);
    if (step.with && !step.action) ctx.addIssue({ code: 'custom', path: ['with'], message: '`with` belongs to an `action`' });
  });

export const onFailureSchema = z
  .object({
    retries: z.number().int().min(0).max(100).default(0).describe('automatic retries before the `then` policy applies'),
    then: z.enum(failurePolicies).default('ask').describe('ask the operator (abort without one), skip with `reason`, or abort'),
    reason: z.string().optional().describe('recorded when `then: skip` skips the step'),
    rollback: z.array(rollbackStepSchema).default([]).describe('steps that undo this one; run in reverse order of the completed steps when the run is aborted'),
  })
  .strict()
  .superRefine((policy, ctx) => {
    if (policy.then === 'skip' && !policy.reason) ctx.addIssue({ code: 'custom', path: ['reason'], message: '`then: skip` needs a `reason`' });
  });

export const stepSchema = z
  .object({
    ...stepShape,
    on_failure: onFailureSchema.optional(),
  })
  .strict()
  .superRefine((step, ctx) => {
    exactlyOneKind(step, ctx);
    if (step.with && !step.action) ctx.addIssue({ code: 'custom', path: ['with'], message: '`with` belongs to an `action`' });
  });

export const runbookKinds = ['drill', 'recovery', 'routine'] as const;

export const runbookSchema = z
  .object({
    id: idSchema,
    title: z.string().min(1),
    description: z.string().optional(),
    kind: z.enum(runbookKinds).default('routine').describe('drill and recovery runs are measured against `targets`'),
    params: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'lowercase letters, digits and "_"'), paramSchema).default({}),
    contacts: z.array(contactSchema).default([]).describe('shown when a step fails, with the contacts from the config'),
    targets: z
      .object({
        rto: durationSchema.optional().describe('recovery time objective: longest acceptable time from start to verified recovery'),
        rpo: durationSchema.optional().describe('recovery point objective: most data (as time) a recovery may lose'),
      })
      .strict()
      .default({}),
    measure: z
      .object({
        recovered: z.string().optional().describe('the step whose successful end marks a verified recovery (ends the RTO clock)'),
        data_through: z.string().optional().describe('template giving the time of the newest data restored, e.g. {{steps.restore.snapshotAt}}'),
        incident: z.string().optional().describe('recovery runbooks: template giving the incident or target time, e.g. {{params.target_time}}; drills use the run start'),
      })
      .strict()
      .default({}),
    steps: z.array(stepSchema).min(1),
  })
  .strict();

export type RunbookParam = z.infer<typeof paramSchema>;
export type ParamType = (typeof paramTypes)[number];
export type CheckRef = z.infer<typeof checkRefSchema>;
export type Confirm = z.infer<typeof confirmSchema>;
export type OnFailure = z.infer<typeof onFailureSchema>;
export type RollbackStep = z.infer<typeof rollbackStepSchema>;
export type Step = z.infer<typeof stepSchema>;
export type Runbook = z.infer<typeof runbookSchema>;
export type RunbookKind = (typeof runbookKinds)[number];

/** A check reference in its long form. */
export function normalizeCheckRef(ref: CheckRef): { check: string; with: Record<string, unknown>; title?: string } {
  return typeof ref === 'string' ? { check: ref, with: {} } : { check: ref.check, with: ref.with ?? {}, title: ref.title };
}

export function stepKind(step: RollbackStep): 'action' | 'manual' | 'checks' {
  return step.action ? 'action' : step.manual ? 'manual' : 'checks';
}

/** Milliseconds of a duration string already validated by durationSchema. */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([dhms])/g)) total += Number(amount) * units[unit];
  return total;
}

/** The JSON Schema editors use (yaml-language-server, VS Code) to complete and check runbooks. */
export function runbookJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(runbookSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://lifeline.dev/schema/runbook.json',
    title: 'lifeline runbook',
  };
}
