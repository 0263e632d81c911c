import { render } from 'ink-testing-library';
import React from 'react';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineAction, type Registry } from '../../src/runbook/registry.js';
import type { TargetInfo } from '../../src/runbook/template.js';
import { openRunSession } from '../../src/runbook/session.js';
import { resolveParams } from '../../src/runbook/params.js';
import { unattendedAnswerer } from '../../src/runbook/answerers.js';
import type { LoadedRunbook } from '../../src/runbook/loader.js';
import type { TuiServices } from '../../src/ui/services.js';
import type { BackupEntry } from '../../src/storage/repository.js';
import type { RunController } from '../../src/ui/state/runController.js';
import { load, newWorld, sandboxTarget, tempDir, testRegistry, type World } from '../runbook/helpers.js';

export const KEY = {
  enter: '\r',
  escape: '\u001b',
  up: '\u001b[A',
  down: '\u001b[B',
  left: '\u001b[D',
  right: '\u001b[C',
  pageDown: '\u001b[6~',
  ctrlC: '\u0003',
  backspace: '\u007f',
} as const;

export type Rendered = ReturnType<typeof render>;

export interface Screen extends Rendered {
  /** The newest frame (never undefined). */
  frame(): string;
  /** Waits until the frame satisfies the predicate (or contains the text); fails with the last frame. */
  waitFor(expected: string | RegExp | ((frame: string) => boolean), timeoutMs?: number): Promise<string>;
  /** Types keys one write at a time, 10 ms apart (faster loses keys, see FACTS.md). */
  press(...keys: string[]): Promise<void>;
  /** Sends one key and waits until the frame differs from what it was. */
  sendAndWaitForChange(key: string, timeoutMs?: number): Promise<string>;
}

const matcher = (expected: string | RegExp | ((frame: string) => boolean)) =>
  typeof expected === 'string' ? (frame: string) => frame.includes(expected) : expected instanceof RegExp ? (frame: string) => expected.test(frame) : expected;

export function renderScreen(element: React.ReactElement): Screen {
  const instance = render(element);
  const frame = () => instance.lastFrame() ?? '';
  const waitFor: Screen['waitFor'] = async (expected, timeoutMs = 15_000) => {
    const ok = matcher(expected);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = frame();
      if (ok(current)) return current;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(expected)}; last frame:\n${current}`);
      await sleep(10);
    }
  };
  return {
    ...instance,
    frame,
    waitFor,
    async press(...keys) {
      for (const key of keys) {
        instance.stdin.write(key);
        await sleep(10);
      }
    },
    async sendAndWaitForChange(key, timeoutMs) {
      const before = frame();
      instance.stdin.write(key);
      return waitFor((current) => current !== before, timeoutMs);
    },
  };
}

/**
 * After a frame with a new list or field appears, React runs the passive effects that attach its
 * input handlers (ink-select-input's useInput is one) in a task it queued while committing that
 * frame. Each setImmediate turn lets every task queued before it run, so after a few turns the
 * handlers are attached.
 */
export async function inputReady(): Promise<void> {
  for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
}

/** Waits until the screen shows `text` and is ready for input. */
export async function ready(screen: Screen, text: string | RegExp | ((frame: string) => boolean)): Promise<string> {
  const frame = await screen.waitFor(text);
  await inputReady();
  return frame;
}

/** A test action that reports bytes and output, and waits at half-way until the test opens the gate. */
export function withProgressAction(registry: Registry, gate: { wait: Promise<void> }): Registry {
  return registry.addAction(
    defineAction({
      name: 'copy-bytes',
      summary: 'reports progress in bytes',
      paramsSchema: z.object({ total: z.number().default(200 * 1024 * 1024) }).strict(),
      outputs: ['copied'],
      describe: (args) => `copy ${args.total} bytes`,
      async run({ with: args, onProgress, onOutput, signal }) {
        onOutput('pg_restore: connecting to database for restore');
        onProgress({ phase: 'copying', bytes: 0, totalBytes: args.total });
        await sleep(100);
        onProgress({ phase: 'copying', bytes: args.total / 2, totalBytes: args.total });
        onOutput('pg_restore: processing data for table "public.orders"');
        await Promise.race([
          gate.wait,
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
        ]);
        onProgress({ phase: 'copying', bytes: args.total, totalBytes: args.total });
        return { copied: args.total };
      },
    }),
  );
}

export function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

export interface TestRun {
  services: TuiServices;
  world: World;
  registry: Registry;
  home: string;
}

/**
 * Services for screens under test: real runbooks driven by a real Runner session (audit log
 * and state files in a temp folder), with data for the other screens given by the test.
 */
export function testServices(options: {
  runbooks?: Record<string, string>;
  target?: TargetInfo;
  yes?: boolean;
  registry?: (world: World) => Registry;
  overrides?: Partial<TuiServices>;
  contacts?: TuiServices['contacts'];
}): TestRun {
  const world = newWorld();
  const registry = (options.registry ?? testRegistry)(world);
  const home = tempDir('lifeline-ui-');
  const services: TuiServices = {
    overview: async () => ({ target: 'the sandbox', sandbox: true, repository: '/tmp/repo', operator: 'alice' }),
    health: async () => ({ warnings: [] }),
    loadRunbooks: async () =>
      Object.entries(options.runbooks ?? {}).map(([id, yaml]) => {
        const loaded = load(yaml, registry, `/runbooks/${id}.yaml`);
        return { id, title: loaded.runbook.title, kind: loaded.runbook.kind, source: 'shipped' as const };
      }),
    listBackups: async () => ({ backups: [], problems: [] }),
    status: async () => ({ level: 'ok', lines: [] }),
    auditRuns: async () => [],
    auditReport: async () => ({ markdown: '', intact: true }),
    contacts: options.contacts ?? (() => [{ name: 'Config Contact', phone: '+1 555 0199' }]),
    timezone: 'Europe/Berlin',
    async startRun(start, controller: RunController) {
      try {
        const yaml = options.runbooks?.[start.runbook ?? ''];
        if (!yaml) throw new Error(`no runbook ${start.runbook}`);
        const loaded: LoadedRunbook = load(yaml, registry, `/runbooks/${start.runbook}.yaml`);
        const params = await resolveParams({ loaded, given: start.params ?? {}, run: { id: 'r', operator: 'alice', host: 'h', started_at: new Date().toISOString() }, ask: controller.askParam });
        const session = await openRunSession({
          loaded,
          registry,
          start: { kind: 'new', params, target: options.target ?? sandboxTarget },
          operator: 'alice',
          host: 'testhost',
          services: { env: process.env },
          answer: unattendedAnswerer({ yes: Boolean(options.yes), person: controller.answer }),
          runsDir: `${home}/runs`,
          auditDir: `${home}/audit`,
          contacts: [{ name: 'Config Contact', phone: '+1 555 0199' }],
          sinks: [controller.sink],
        });
        controller.attach(session.runner);
        const result = await session.run();
        controller.finish({ exitCode: result.exitCode, runId: result.runId, auditFile: result.auditFile });
      } catch (error) {
        const e = error as { message: string; hint?: string; exitCode?: number };
        controller.fail({ message: e.message, hint: e.hint, exitCode: e.exitCode ?? 1 });
      }
    },
    ...options.overrides,
  };
  return { services, world, registry, home };
}

/** Resolves with the exit code the app leaves with. */
export function exitCatcher(): { onExit(code: number): void; code: Promise<number> } {
  let resolve!: (code: number) => void;
  const code = new Promise<number>((r) => (resolve = r));
  return { onExit: (value) => resolve(value), code };
}

/** A backup listing entry as the repository reports it. */
export function backup(id: string, verified: boolean, finishedAt: string, sizeBytes = 5 * 1024 * 1024): BackupEntry {
  return {
    id,
    kind: 'logical',
    label: 'daily',
    operator: 'alice',
    host: 'db1',
    startedAt: finishedAt,
    finishedAt,
    database: 'shop',
    compression: { algorithm: 'zstd' },
    objects: [{ name: 'data.dump.zst', size: sizeBytes, sha256: 'a'.repeat(64) }],
    sizeBytes,
    verifications: verified ? [{ formatVersion: 1, backupId: id, requestedLevel: 'archive', passedLevel: 'archive', ok: true, startedAt: finishedAt, finishedAt, checks: [] }] : [],
    verifiedLevel: verified ? 'archive' : undefined,
    verified,
  } as unknown as BackupEntry;
}
