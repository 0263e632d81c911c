import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { unattendedAnswerer } from '../../src/runbook/answerers.js';
import { loadRunState } from '../../src/runbook/run-state.js';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { finishedOf, kinds, load, newWorld, runRunbook, sandboxTarget, scripted, tempDir, testRegistry } from './helpers.js';

const twoSteps = `id: two
title: Two steps
steps:
  - id: first
    title: First
    action: count
    with: { key: first }
  - id: second
    title: Second gets {{steps.first.n}}
    action: count
    with: { key: "second-{{steps.first.n}}" }
    confirm: { type: yes-no }
`;

describe('Runner', () => {
  it('runs the steps in order, emits the events and passes outputs to later steps', async () => {
    const world = newWorld();
    const registry = testRegistry(world);
    const answer = scripted([{ type: 'yes' }]);
    const ran = await runRunbook({ loaded: load(twoSteps, registry), registry, answer, home: tempDir() });
    expect(ran).toMatchObject({ outcome: 'succeeded', exitCode: 0, skipped: [] });
    expect(world.calls).toEqual({ first: 1, 'second-1': 1 });
    expect(kinds(ran.events)).toEqual([
      'run-started',
      'step-started:first',
      'step-finished:first',
      'step-started:second',
      'awaiting-input:second',
      'answered:second',
      'step-finished:second',
      'run-finished',
    ]);
    expect(answer.asked).toEqual([{ kind: 'confirm', step: 'second', prompt: 'Run "Second gets 1"?', sandbox: false, accepts: ['yes', 'skip', 'abort'] }]);
    expect(loadRunState(ran.runsDir, ran.runId)).toMatchObject({ status: 'finished', outcome: 'succeeded', steps: { first: { outputs: { n: 1 } } } });
    expect(verifyAuditFile(ran.auditFile)).toMatchObject({ ok: true, complete: true, lines: 8 });
  });

  it('a typed confirmation asks again until the phrase is exact', async () => {
    const registry = testRegistry(newWorld());
    const loaded = load('id: t\ntitle: T\nsteps:\n  - { id: drop, title: Drop, action: count, confirm: { type: typed } }\n', registry);
    const answer = scripted([{ type: 'typed', text: 'Shop' }, { type: 'typed', text: 'shop' }]);
    const ran = await runRunbook({ loaded, registry, answer, home: tempDir() });
    expect(ran.outcome).toBe('succeeded');
    expect(answer.asked.map((r) => (r.kind === 'typed' ? [r.expected, r.mismatch] : r.kind))).toEqual([
      ['shop', undefined],
      ['shop', 'Value must be exactly shop'],
    ]);
  });

  it('a skipped step is recorded with its reason, its outputs are absent, and the run exits 3', async () => {
    const world = newWorld();
    const registry = testRegistry(world);
    const loaded = load(twoSteps.replace('title: First\n', 'title: First\n    confirm: { type: yes-no }\n').replace('"second-{{steps.first.n}}"', 'second'), registry);
    const ran = await runRunbook({ loaded, registry, answer: scripted([{ type: 'skip', reason: 'done by hand already' }, { type: 'yes' }]), home: tempDir() });
    expect(ran).toMatchObject({ outcome: 'skipped-steps', exitCode: 3, skipped: [{ step: 'first', what: 'step', reason: 'done by hand already', unattended: false }] });
    expect(world.calls).toEqual({ second: 1 });
  });

  it('a failed action waits for a decision; retry runs it again and the decision is recorded', async () => {
    const world = newWorld();
    world.failuresLeft.migrate = 1;
    const registry = testRegistry(world);
    const loaded = load('id: f\ntitle: F\nsteps:\n  - { id: migrate, title: Migrate, action: flaky, with: { key: migrate } }\n', registry);
    const answer = scripted([{ type: 'retry' }]);
    const ran = await runRunbook({ loaded, registry, answer, home: tempDir() });
    expect(ran.outcome).toBe('succeeded');
    expect(world.calls.migrate).toBe(2);
    expect(answer.asked[0]).toMatchObject({ kind: 'decision', phase: 'action', failure: 'migrate failed on purpose', attempt: 1 });
    expect(finishedOf(ran.events, 'migrate')).toEqual([expect.objectContaining({ outcome: 'ok', attempts: 2, outputs: { attempts: 2 } })]);
    expect(kinds(ran.events)).toContain('attempt-failed:migrate');
  });

  it('on_failure retries on its own before asking, and `then: skip` skips with the runbook reason', async () => {
    const world = newWorld();
    world.failuresLeft.a = 5;
    const registry = testRegistry(world);
    const loaded = load(
      `id: f
title: F
steps:
  - id: a
    title: A
    action: flaky
    with: { key: a }
    on_failure: { retries: 2, then: skip, reason: optional cache warm-up }
`,
      registry,
    );
    const ran = await runRunbook({ loaded, registry, answer: scripted([]), home: tempDir() });
    expect(world.calls.a).toBe(3);
    expect(ran).toMatchObject({ outcome: 'skipped-steps', exitCode: 3, skipped: [{ step: 'a', reason: 'optional cache warm-up', unattended: true }] });
  });

  it('abort after a failure rolls back the failed step and the completed ones, newest first', async () => {
    const world = newWorld();
    world.failuresLeft.restore = 1;
    const registry = testRegistry(world);
    const loaded = load(
      `id: r
title: R
steps:
  - id: maintenance
    title: Maintenance on
    action: count
    with: { key: maintenance-on }
    on_failure: { rollback: [{ id: maintenance_off, title: Maintenance off, action: count, with: { key: maintenance-off } }] }
  - id: restore
    title: Restore
    action: flaky
    with: { key: restore }
    on_failure: { rollback: [{ id: drop_copy, title: Drop copy, action: count, with: { key: drop-copy } }] }
  - id: never
    title: Never
    action: count
    with: { key: never }
`,
      registry,
    );
    const ran = await runRunbook({ loaded, registry, answer: scripted([{ type: 'abort', reason: 'restore looks wrong' }]), home: tempDir() });
    expect(ran).toMatchObject({ outcome: 'aborted', exitCode: 1, failedStep: 'restore', error: { message: 'restore failed on purpose' } });
    expect(world.calls).toEqual({ 'maintenance-on': 1, restore: 1, 'drop-copy': 1, 'maintenance-off': 1 });
    const order = ran.events.filter((e) => e.kind === 'step-finished').map((e) => e.step);
    expect(order).toEqual(['maintenance', 'restore', 'drop_copy', 'maintenance_off']);
    expect(loadRunState(ran.runsDir, ran.runId)).toMatchObject({ status: 'finished', outcome: 'aborted' });
  });

  it('a failing check waits for a decision: retry re-runs it, skip goes on with the reason recorded', async () => {
    const world = newWorld();
    const registry = testRegistry(world);
    const loaded = load(
      `id: c
title: C
steps:
  - id: restore
    title: Restore
    action: count
    checks:
      pre: [{ check: flag, with: { name: db } }]
      post: [{ check: flag, with: { name: app } }]
`,
      registry,
    );
    const answer = scripted([
      () => {
        world.flags.db = true; // the operator fixed it, then asks to retry
        return { type: 'retry' };
      },
      { type: 'skip', reason: 'app checked by hand' },
    ]);
    const ran = await runRunbook({ loaded, registry, answer, home: tempDir() });
    expect(answer.asked.map((r) => r.kind === 'decision' && [r.phase, r.failure, r.attempt])).toEqual([
      ['pre', 'flag: db is down', 1],
      ['post', 'flag: app is down', 1],
    ]);
    expect(world.calls).toEqual({ 'check:db': 2, count: 1, 'check:app': 1 });
    const checks = ran.events.filter((e) => e.kind === 'check-result').map((e) => e.kind === 'check-result' && [e.data.phase, e.data.ok, e.data.attempt]);
    expect(checks).toEqual([
      ['pre', false, 1],
      ['pre', true, 2],
      ['post', false, 1],
    ]);
    expect(ran).toMatchObject({ outcome: 'skipped-steps', exitCode: 3, skipped: [{ step: 'restore', what: 'post-check flag', reason: 'app checked by hand' }] });
    expect(finishedOf(ran.events, 'restore')[0]).toMatchObject({ outcome: 'ok', deviations: [{ check: 'flag', phase: 'post', reason: 'app checked by hand' }] });
  });

  it('a failing check with nobody to decide aborts the run (exit 1) before the action', async () => {
    const world = newWorld();
    const registry = testRegistry(world);
    const loaded = load('id: c\ntitle: C\nsteps:\n  - { id: s, title: S, action: count, checks: { pre: [{ check: flag, with: { name: db } }] } }\n', registry);
    const ran = await runRunbook({ loaded, registry, answer: unattendedAnswerer({ yes: true }), home: tempDir() });
    expect(ran).toMatchObject({ outcome: 'failed', exitCode: 1, failedStep: 's' });
    expect(world.calls.count).toBeUndefined();
    const answered = ran.events.find((e) => e.kind === 'answered');
    expect(answered?.data).toEqual({ answer: { type: 'abort', reason: 'no operator to decide after a pre-check failed' }, unattended: true });
  });

  it('dry-run runs the checks, describes the actions and changes nothing', async () => {
    const world = newWorld();
    world.flags.db = true;
    const registry = testRegistry(world);
    const loaded = load(
      `id: d
title: D
steps:
  - { id: a, title: A, action: count, with: { key: a }, confirm: { type: typed }, checks: { pre: [{ check: flag, with: { name: db } }] } }
  - { id: b, title: B, action: shell, with: { command: [echo, "{{steps.a.n}}"] } }
  - { id: c, title: C, manual: Call the team, checks: { pre: [{ check: flag, with: { name: app } }] } }
`,
      registry,
    );
    const ran = await runRunbook({ loaded, registry, answer: scripted([]), home: tempDir(), dryRun: true });
    expect(world.calls).toEqual({ 'check:db': 1, 'check:app': 1 });
    expect(ran.events.filter((e) => e.kind === 'step-started').map((e) => e.kind === 'step-started' && e.data.describe)).toEqual([
      'count a',
      'run echo <steps.a.n>',
      'Call the team',
    ]);
    expect(ran.events.filter((e) => e.kind === 'step-finished').every((e) => e.kind === 'step-finished' && e.data.outcome === 'described')).toBe(true);
    // One check failed: the rehearsal says so with exit 1, and leaves no resumable state.
    expect(ran).toMatchObject({ outcome: 'succeeded', exitCode: 1 });
    expect(fs.existsSync(ran.runsDir)).toBe(false);
    expect(verifyAuditFile(ran.auditFile).ok).toBe(true);
  });

  it('without a person, --yes never answers a typed confirmation against a real target (exit 4, resumable)', async () => {
    const registry = testRegistry(newWorld());
    const loaded = load('id: t\ntitle: T\nsteps:\n  - { id: drop, title: Drop, action: count, confirm: { type: typed } }\n', registry);
    const ran = await runRunbook({ loaded, registry, answer: unattendedAnswerer({ yes: true }), home: tempDir() });
    expect(ran).toMatchObject({ outcome: 'input-needed', exitCode: 4, failedStep: 'drop' });
    expect(ran.error?.hint).toMatch(/--yes never answers a typed confirmation against a target that is not the sandbox/);
    expect(loadRunState(ran.runsDir, ran.runId).status).toBe('input-needed');

    const sandbox = await runRunbook({ loaded, registry, answer: unattendedAnswerer({ yes: true }), home: tempDir(), target: sandboxTarget });
    expect(sandbox.outcome).toBe('succeeded');
    expect(sandbox.events.find((e) => e.kind === 'answered')?.data).toEqual({ answer: { type: 'typed', text: 'lifeline_demo' }, unattended: true });
  });

  it('without a person and without --yes, a confirmation ends the run with exit 4 naming --yes', async () => {
    const registry = testRegistry(newWorld());
    const ran = await runRunbook({ loaded: load(twoSteps, registry), registry, answer: unattendedAnswerer({ yes: false }), home: tempDir() });
    expect(ran).toMatchObject({ outcome: 'input-needed', exitCode: 4, error: { code: 'INPUT_NEEDED', hint: expect.stringContaining('--yes') } });
  });

  it('Ctrl-C cancels the running action through its signal; the run is resumable and resumes from that step', async () => {
    const world = newWorld();
    const registry = testRegistry(world);
    const text = `id: long
title: Long
steps:
  - { id: before, title: Before, action: count, with: { key: before } }
  - { id: sleep, title: Sleep, action: shell, with: { command: [sleep, "30"] } }
  - { id: after, title: After, action: count, with: { key: after } }
`;
    const home = tempDir();
    const controller = new AbortController();
    const started = Date.now();
    const ran = await runRunbook({
      loaded: load(text, registry),
      registry,
      answer: scripted([]),
      home,
      signal: controller.signal,
      onEvent: (event) => {
        if (event.kind === 'step-started' && event.step === 'sleep') setImmediate(() => controller.abort());
      },
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(ran).toMatchObject({ outcome: 'interrupted', exitCode: 130, failedStep: 'sleep' });
    expect(finishedOf(ran.events, 'sleep')).toEqual([expect.objectContaining({ outcome: 'interrupted' })]);
    const state = loadRunState(ran.runsDir, ran.runId);
    expect(state).toMatchObject({ status: 'interrupted', current: 'sleep' });

    // The resumed run starts at "sleep" again (not at "before"); the operator aborts it there,
    // which cancels the action through its signal too.
    const resumed = await runRunbook({
      loaded: load(text, registry),
      registry,
      answer: scripted([]),
      home,
      start: { kind: 'resume', state },
      onRunner: (runner) => {
        const unsubscribe = runner.subscribe((event) => {
          if (event.kind === 'step-started' && event.step === 'sleep') {
            unsubscribe();
            setImmediate(() => runner.abort('testing operator abort'));
          }
        });
      },
    });
    expect(resumed.runId).toBe(ran.runId);
    expect(resumed.events[0]).toMatchObject({ kind: 'run-started', data: { resumed: { fromStep: 'sleep', previousStatus: 'interrupted' } } });
    expect(resumed.events[1]).toMatchObject({ kind: 'step-started', step: 'sleep', data: { resumed: true } });
    expect(resumed).toMatchObject({ outcome: 'aborted', exitCode: 1, failedStep: 'sleep' });
    expect(world.calls).toEqual({ before: 1 });
    const audit = verifyAuditFile(resumed.auditFile);
    expect(audit).toMatchObject({ ok: true, complete: true });
  });

  it('refuses to resume a finished run, or one whose runbook changed', async () => {
    const registry = testRegistry(newWorld());
    const home = tempDir();
    const ran = await runRunbook({ loaded: load(twoSteps, registry), registry, answer: scripted([{ type: 'yes' }]), home });
    const state = loadRunState(ran.runsDir, ran.runId);
    await expect(runRunbook({ loaded: load(twoSteps, registry), registry, answer: scripted([]), home, start: { kind: 'resume', state } })).rejects.toThrow(/nothing to resume/);
    const unfinished = { ...state, status: 'interrupted' as const };
    await expect(
      runRunbook({ loaded: load(twoSteps.replace('Two steps', 'Changed'), registry), registry, answer: scripted([]), home, start: { kind: 'resume', state: unfinished } }),
    ).rejects.toThrow(/changed since run/);
  });
});
