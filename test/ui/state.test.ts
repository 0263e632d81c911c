import { describe, expect, it, vi } from 'vitest';
import type { Key } from 'ink';
import type { RunEvent } from '../../src/runbook/events.js';
import { decideTui } from '../../src/ui/headless.js';
import { commandFor, printable } from '../../src/ui/key/keyBindings.js';
import { nextProgress } from '../../src/ui/state/progress.js';
import { initialRunState, PROGRESS_REDRAW_MS, reduceRun } from '../../src/ui/state/runState.js';
import { createRunController } from '../../src/ui/state/runController.js';
import { formatAge, formatClock, formatTime, parseDurationText } from '../../src/ui/format.js';
import { abortConsequences } from '../../src/ui/components/AbortDialog.js';
import { checkTimestamp } from '../../src/ui/components/TimestampInput.js';

const tty = { stdinIsTTY: true, stdoutIsTTY: true };

describe('when the TUI may start', () => {
  it('only with a terminal on stdin and stdout, outside CI, without --plain or --json', () => {
    expect(decideTui({ ...tty, env: {} })).toEqual({ tui: true });
    expect(decideTui({ ...tty, env: { CI: '0' } })).toEqual({ tui: true });
    expect(decideTui({ ...tty, env: { CI: 'false' } })).toEqual({ tui: true });
    expect(decideTui({ ...tty, env: { CI: 'true' } })).toMatchObject({ tui: false, reason: expect.stringContaining('CI') });
    expect(decideTui({ ...tty, env: { CI: '1' } }).tui).toBe(false);
    expect(decideTui({ stdinIsTTY: false, stdoutIsTTY: true, env: {} })).toMatchObject({ tui: false, reason: 'stdin is not a terminal' });
    expect(decideTui({ stdinIsTTY: true, stdoutIsTTY: undefined, env: {} })).toMatchObject({ tui: false, reason: 'stdout is not a terminal' });
    expect(decideTui({ ...tty, env: {}, plain: true }).tui).toBe(false);
    expect(decideTui({ ...tty, env: {}, json: true }).tui).toBe(false);
    expect(decideTui({ ...tty, env: { TERM: 'dumb' } }).tui).toBe(false);
  });
});

const key = (over: Partial<Key> = {}): Key => ({
  upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
  return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false, super: false, hyper: false, capsLock: false, numLock: false,
  ...over,
} as Key);

describe('named key bindings', () => {
  it('map keys to commands, and Ctrl-C is not "c"', () => {
    expect(commandFor('', key({ return: true }), ['confirm', 'cancel'])).toBe('confirm');
    expect(commandFor('', key({ escape: true }), ['confirm', 'cancel'])).toBe('cancel');
    expect(commandFor('c', key(), ['interrupt', 'contacts'])).toBe('contacts');
    expect(commandFor('c', key({ ctrl: true }), ['interrupt', 'contacts'])).toBe('interrupt');
    expect(commandFor('q', key(), ['quit'])).toBe('quit');
    expect(commandFor('?', key(), ['help'])).toBe('help');
    expect(printable('q', key())).toBe('q');
    expect(printable('c', key({ ctrl: true }))).toBeUndefined();
    expect(printable('x\u0007y', key())).toBe('xy');
  });
});

let seq = 0;
const at = (ms: number) => new Date(Date.UTC(2026, 10, 24, 12, 0, 0) + ms).toISOString();
function event<K extends RunEvent['kind']>(kind: K, step: string | null, data: Extract<RunEvent, { kind: K }>['data'], ms = seq++ * 100): RunEvent {
  return { kind, runId: 'r1', time: at(ms), step, data } as RunEvent;
}

describe('the run state reducer', () => {
  it('marks steps pending → running → passed/skipped with durations, keeps checks in place, and clears the question once answered', () => {
    let state = reduceRun(initialRunState, event('run-started', null, {
      runbook: { id: 'd', title: 'D', kind: 'drill', file: 'f', sha256: 's', targets: { rto: '15m' } },
      params: {}, paramTypes: {}, target: { name: 'sandbox', sandbox: true, label: 'the sandbox' }, contacts: [], dryRun: false,
      startedAt: at(0), steps: [{ id: 'a', title: 'A', type: 'action' }, { id: 'b', title: 'B', type: 'manual' }],
    }, 0));
    expect(state.steps.map((s) => s.status)).toEqual(['pending', 'pending']);
    state = reduceRun(state, event('step-started', 'a', { title: 'A', type: 'action', index: 0, total: 2 }, 100));
    expect(state.steps[0]).toMatchObject({ status: 'running', startedAt: Date.parse(at(100)) });
    const check = { phase: 'pre' as const, check: 'flag', title: 'flag up', detail: 'down', durationMs: 1, attempt: 1 };
    state = reduceRun(state, event('check-result', 'a', { ...check, ok: false }, 150));
    state = reduceRun(state, event('check-result', 'a', { ...check, ok: true, detail: 'up', attempt: 2 }, 160));
    expect(state.current!.checks).toEqual([{ ...check, ok: true, detail: 'up', attempt: 2 }]);
    state = reduceRun(state, event('awaiting-input', 'a', { request: { kind: 'confirm', step: 'a', prompt: 'Run?', sandbox: true, accepts: ['yes'] } }, 170));
    expect(state.request?.kind).toBe('confirm');
    state = reduceRun(state, event('answered', 'a', { answer: { type: 'yes' }, unattended: false }, 180));
    expect(state.request).toBeUndefined();
    state = reduceRun(state, event('step-finished', 'a', { outcome: 'ok', durationMs: 900, attempts: 1 }, 1000));
    state = reduceRun(state, event('step-started', 'b', { title: 'B', type: 'manual', index: 1, total: 2 }, 1000));
    state = reduceRun(state, event('step-finished', 'b', { outcome: 'skipped', durationMs: 5, attempts: 1, reason: 'done by hand' }, 1005));
    expect(state.steps).toMatchObject([{ status: 'passed', durationMs: 900 }, { status: 'skipped', reason: 'done by hand' }]);
  });

  it('a resumed run shows the steps finished before as passed "earlier"', () => {
    const state = reduceRun(initialRunState, event('run-started', null, {
      runbook: { id: 'd', title: 'D', kind: 'drill', file: 'f', sha256: 's', targets: {} }, params: {}, paramTypes: {},
      target: { name: 'sandbox', sandbox: true, label: 'the sandbox' }, contacts: [], dryRun: false, startedAt: at(0),
      steps: [{ id: 'a', title: 'A', type: 'action' }, { id: 'b', title: 'B', type: 'action' }], resumed: { fromStep: 'b', previousStatus: 'interrupted' },
    }));
    expect(state.steps).toMatchObject([{ status: 'passed', earlier: true }, { status: 'pending' }]);
  });
});

describe('progress redraws', () => {
  it('show a moving byte count at most every PROGRESS_REDRAW_MS, the latest held one when the time is up or before the next event', () => {
    vi.useFakeTimers();
    try {
      const controller = createRunController();
      let redraws = 0;
      controller.subscribe(() => redraws++);
      const shown = () => controller.getSnapshot().run.current?.progress?.bytes;
      const bytes = (n: number, ms: number) => controller.sink(event('progress', 'a', { phase: 'dump', bytes: n, totalBytes: 100 }, ms));
      controller.sink(event('step-started', 'a', { title: 'A', type: 'action', index: 0, total: 1 }, 0));
      bytes(10, 0);
      expect(shown()).toBe(10);
      const before = redraws;
      bytes(20, 200);
      bytes(30, 400);
      expect([shown(), redraws]).toEqual([10, before]); // held: nothing to redraw yet
      vi.advanceTimersByTime(PROGRESS_REDRAW_MS);
      expect([shown(), redraws]).toEqual([30, before + 1]); // the latest, once
      bytes(40, 600);
      controller.sink(event('progress', 'a', { phase: 'dump', message: 'dumping public.orders' }, 650));
      expect(controller.getSnapshot().run.current?.progress).toMatchObject({ bytes: 40, message: 'dumping public.orders' });
      bytes(50, 700);
      controller.sink(event('step-finished', 'a', { outcome: 'passed', durationMs: 800, attempts: 1 } as never, 800));
      expect(controller.getSnapshot().run.current?.progress?.bytes).toBe(50); // shown before the step's end
      bytes(100, 900);
      expect(shown()).toBe(100); // the end of the bar is never held
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('progress rate and ETA', () => {
  it('measures bytes per second over the recent window and the time left at that rate', () => {
    let p = nextProgress(undefined, { phase: 'copy', bytes: 0, totalBytes: 1000 }, 0);
    p = nextProgress(p, { phase: 'copy', bytes: 100 }, 1000);
    expect(p).toMatchObject({ rate: 100, fraction: 0.1, totalBytes: 1000, etaMs: 9000 });
    // Over a window of 5 s the old samples fall out: a stall shows as a falling rate.
    p = nextProgress(p, { phase: 'copy', bytes: 600 }, 6000);
    p = nextProgress(p, { phase: 'copy', bytes: 600 }, 12_000);
    expect(p.rate).toBe(0);
    expect(p.etaMs).toBeUndefined();
    // A new phase starts its own measurement.
    expect(nextProgress(p, { phase: 'analyze' }, 13_000)).toMatchObject({ phase: 'analyze', bytes: undefined, rate: undefined });
  });
});

describe('formats', () => {
  it('clock, ages, times in UTC and a zone, runbook durations', () => {
    expect(formatClock(42_000)).toBe('0:42');
    expect(formatClock(3_723_000)).toBe('1:02:03');
    expect(formatAge(new Date(Date.now() - 3 * 3_600_000 - 4000).toISOString())).toBe('3h ago');
    expect(formatAge(new Date(Date.now() - 10_000).toISOString())).toBe('just now');
    expect(formatTime('2026-11-24T20:30:00.000Z', 'Europe/Berlin')).toBe('2026-11-24 20:30:00 UTC (2026-11-24 21:30:00 Europe/Berlin)');
    expect(parseDurationText('1h30m')).toBe(5_400_000);
    expect(parseDurationText('soon')).toBeUndefined();
  });

  it('a timestamp without an offset is refused with the reason', () => {
    expect(checkTimestamp('t', '2026-11-24T21:30:00')).toEqual({ ok: false, message: 'no UTC offset' });
    expect(checkTimestamp('t', '2026-02-30T21:30:00Z')).toEqual({ ok: false, message: 'no such date or time' });
    expect(checkTimestamp('t', '2026-11-24 21:30+01:00')).toEqual({ ok: true, iso: '2026-11-24T20:30:00.000Z' });
  });
});

describe('what aborting does, in words', () => {
  it('depends on whether an action is running, a question is open, or nothing started', () => {
    expect(abortConsequences({ preparing: true, waiting: true }).join(' ')).toContain('nothing has been changed');
    expect(abortConsequences({ preparing: false, waiting: false, step: { id: 'r', title: 'Restore', type: 'action' } })[0]).toContain('"Restore" is cancelled now');
    expect(abortConsequences({ preparing: false, waiting: true, step: { id: 'r', title: 'Restore', type: 'action' } })[0]).toContain('waits for your answer and will not run');
  });
});
