import type { z } from 'zod';
import type { Progress } from '../engine/progress.js';
import type { Config, TargetConfig } from '../config/schema.js';
import type { LifelinePaths } from '../config/paths.js';
import type { ConnInfo } from '../postgres/conninfo.js';
import type { Repository } from '../storage/repository.js';
import type { TargetInfo } from './template.js';

/**
 * What a runbook step may do (actions) and verify (checks). The Runner gets a Registry injected:
 * the CLI builds one with the built-ins (and, later, the engine-backed operations); tests register
 * their own real actions beside them.
 */

/** What actions and checks may use from their surroundings; the CLI provides them. */
export interface RunServices {
  env: NodeJS.ProcessEnv;
  /** The run's target database (bringing the sandbox up when it is the target). */
  connect?(): Promise<{ conn: ConnInfo; label: string; sandbox: boolean; settings?: TargetConfig }>;
  /** The repository of this invocation (opened once, on first use). */
  repo?(): Promise<Repository>;
  /** The resolved configuration (backup, verify, maintenance settings). */
  config?: Config;
  /** Where lifeline keeps config, data (sandboxes, scratch) and state (maintenance, runs). */
  paths?: LifelinePaths;
}

export interface RunInfo {
  id: string;
  operator: string;
  target: TargetInfo;
  dryRun: boolean;
}

export type OutputStream = 'stdout' | 'stderr';

export interface ActionContext<W> {
  with: W;
  /** Aborted on Ctrl-C or an abort answer: stop safely and throw. */
  signal: AbortSignal;
  onProgress(progress: Progress): void;
  onOutput(line: string, stream?: OutputStream): void;
  services: RunServices;
  run: RunInfo;
}

export interface ActionDefinition<S extends z.ZodType = z.ZodType> {
  name: string;
  /** One line for `lifeline runbooks list --actions` and the docs. */
  summary: string;
  /** Validates the rendered `with:` arguments (and gives their defaults). */
  paramsSchema: S;
  /** Outputs later steps may read as {{steps.<id>.<output>}}; checked when a runbook loads. */
  outputs: readonly string[];
  /** What run() would do with these arguments: shown in dry-run and recorded in the audit. */
  describe(args: z.output<S>): string;
  run(ctx: ActionContext<z.output<S>>): Promise<Record<string, unknown>>;
}

export interface CheckResult {
  ok: boolean;
  /** One line for the operator: what was measured, and against what. */
  detail: string;
}

export interface CheckContext<W> {
  with: W;
  signal: AbortSignal;
  services: RunServices;
  run: RunInfo;
}

export interface CheckDefinition<S extends z.ZodType = z.ZodType> {
  name: string;
  summary: string;
  paramsSchema: S;
  describe(args: z.output<S>): string;
  /** Reads, never changes: checks also run in dry-run. */
  run(ctx: CheckContext<z.output<S>>): Promise<CheckResult>;
}

/** Keeps the argument types of one definition checked against its schema. */
export const defineAction = <S extends z.ZodType>(definition: ActionDefinition<S>): ActionDefinition<S> => definition;
export const defineCheck = <S extends z.ZodType>(definition: CheckDefinition<S>): CheckDefinition<S> => definition;

// Stored type-erased: each definition was checked against its own schema by define*().
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAction = ActionDefinition<any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCheck = CheckDefinition<any>;

export class Registry {
  private readonly actionsByName = new Map<string, AnyAction>();
  private readonly checksByName = new Map<string, AnyCheck>();

  addAction(definition: AnyAction): this {
    if (this.actionsByName.has(definition.name)) throw new Error(`action "${definition.name}" is registered twice`);
    this.actionsByName.set(definition.name, definition);
    return this;
  }

  addCheck(definition: AnyCheck): this {
    if (this.checksByName.has(definition.name)) throw new Error(`check "${definition.name}" is registered twice`);
    this.checksByName.set(definition.name, definition);
    return this;
  }

  action(name: string): AnyAction | undefined {
    return this.actionsByName.get(name);
  }

  check(name: string): AnyCheck | undefined {
    return this.checksByName.get(name);
  }

  actions(): AnyAction[] {
    return [...this.actionsByName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  checks(): AnyCheck[] {
    return [...this.checksByName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
