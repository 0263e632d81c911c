import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { createBuiltinRegistry } from '../../src/runbook/builtins.js';
import type { GivenAnswer, InputRequest, RunEvent } from '../../src/runbook/events.js';
import { parseRunbook, type LoadedRunbook } from '../../src/runbook/loader.js';
import { defineAction, defineCheck, type Registry } from '../../src/runbook/registry.js';
import type { Answerer, RunStart } from '../../src/runbook/runner.js';
import { openRunSession, type RunSessionResult } from '../../src/runbook/session.js';
import type { TargetInfo } from '../../src/runbook/template.js';

export function tempDir(prefix = 'lifeline-runbook-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Shared, visible state of the test actions and checks below. */
export interface World {
  calls: Record<string, number>;
  /** Failures still to come, per key of the `flaky` action. */
  failuresLeft: Record<string, number>;
  /** What the `flag` check reports, per name. */
  flags: Record<string, boolean>;
}

/**
 * The built-in registry plus real actions and checks whose effects a test can see: this is the
 * Registry the Runner takes, not a mock of anything.
 */
export function testRegistry(world: World): Registry {
  return createBuiltinRegistry()
    .addAction(
      defineAction({
        name: 'count',
        summary: 'counts its calls',
        paramsSchema: z.object({ key: z.string().default('count') }).strict(),
        outputs: ['n'],
        describe: (args) => `count ${args.key}`,
        async run({ with: args }) {
          world.calls[args.key] = (world.calls[args.key] ?? 0) + 1;
          return { n: world.calls[args.key] };
        },
      }),
    )
    .addAction(
      defineAction({
        name: 'flaky',
        summary: 'fails as often as the test says, then succeeds',
        paramsSchema: z.object({ key: z.string() }).strict(),
        outputs: ['attempts'],
        describe: (args) => `flaky ${args.key}`,
        async run({ with: args }) {
          world.calls[args.key] = (world.calls[args.key] ?? 0) + 1;
          if ((world.failuresLeft[args.key] ?? 0) > 0) {
            world.failuresLeft[args.key]--;
            throw new Error(`${args.key} failed on purpose`);
          }
          return { attempts: world.calls[args.key] };
        },
      }),
    )
    .addAction(
      defineAction({
        name: 'emit',
        summary: 'returns the values it is given as outputs',
        paramsSchema: z.object({ values: z.record(z.string(), z.unknown()) }).strict(),
        outputs: ['backupId', 'snapshotAt', 'value'],
        describe: (args) => `emit ${JSON.stringify(args.values)}`,
        async run({ with: args }) {
          return args.values;
        },
      }),
    )
    .addCheck(
      defineCheck({
        name: 'flag',
        summary: 'passes while the named flag is true',
        paramsSchema: z.object({ name: z.string() }).strict(),
        describe: (args) => `flag ${args.name}`,
        async run({ with: args }) {
          world.calls[`check:${args.name}`] = (world.calls[`check:${args.name}`] ?? 0) + 1;
          const ok = world.flags[args.name] ?? false;
          return { ok, detail: `${args.name} is ${ok ? 'up' : 'down'}` };
        },
      }),
    );
}

export const newWorld = (): World => ({ calls: {}, failuresLeft: {}, flags: {} });

export function load(yaml: string, registry: Registry, file = '/runbooks/test.yaml'): LoadedRunbook {
  return parseRunbook({ text: yaml, file, registry });
}

export type Script = Array<GivenAnswer | ((request: InputRequest) => GivenAnswer)>;

/** Answers from a script, in order; every question asked is kept for the test to read. */
export function scripted(script: Script): Answerer & { asked: InputRequest[] } {
  const asked: InputRequest[] = [];
  const answerer = async (request: InputRequest) => {
    asked.push(request);
    const next = script.shift();
    if (!next) throw new Error(`unscripted question: ${JSON.stringify(request)}`);
    return typeof next === 'function' ? next(request) : next;
  };
  return Object.assign(answerer, { asked });
}

export const prodTarget: TargetInfo = { name: 'prod', database: 'shop', host: 'db1', sandbox: false, label: 'postgresql://app@db1/shop' };
export const sandboxTarget: TargetInfo = { name: 'sandbox', database: 'lifeline_demo', sandbox: true, label: 'the sandbox' };

export interface RunOptions {
  loaded: LoadedRunbook;
  registry: Registry;
  answer: Answerer;
  home: string;
  params?: Record<string, string>;
  target?: TargetInfo;
  dryRun?: boolean;
  signal?: AbortSignal;
  start?: RunStart;
  onEvent?: (event: RunEvent) => void;
  clock?: () => number;
  services?: import('../../src/runbook/registry.js').RunServices;
  onRunner?: (runner: import('../../src/runbook/runner.js').Runner) => void;
}

export interface Ran extends RunSessionResult {
  events: RunEvent[];
  runsDir: string;
  auditDir: string;
}

export async function runRunbook(options: RunOptions): Promise<Ran> {
  const events: RunEvent[] = [];
  const runsDir = path.join(options.home, 'runs');
  const auditDir = path.join(options.home, 'audit');
  const session = await openRunSession({
    loaded: options.loaded,
    registry: options.registry,
    start: options.start ?? { kind: 'new', params: options.params ?? {}, target: options.target ?? prodTarget },
    operator: 'alice',
    host: 'testhost',
    services: options.services ?? { env: process.env },
    answer: options.answer,
    runsDir,
    auditDir,
    dryRun: options.dryRun,
    signal: options.signal,
    clock: options.clock,
    sinks: [
      (event) => {
        events.push(event);
        options.onEvent?.(event);
      },
    ],
  });
  options.onRunner?.(session.runner);
  const result = await session.run();
  return { ...result, events, runsDir, auditDir };
}

export const kinds = (events: RunEvent[]) => events.map((event) => (event.step ? `${event.kind}:${event.step}` : event.kind));
export const finishedOf = (events: RunEvent[], step: string) =>
  events.filter((event) => event.kind === 'step-finished' && event.step === step).map((event) => (event.kind === 'step-finished' ? event.data : undefined));
