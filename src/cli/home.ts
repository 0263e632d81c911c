import { lifelinePaths, peekSetting } from '../config/paths.js';
import { LifelineError } from '../errors.js';
import { quickRunbookList, runbookDirs, userRunbookDir } from '../runbook/files.js';
import { decideTui } from '../ui/headless.js';
import type { TuiServices } from '../ui/services.js';
import type { RunController } from '../ui/state/runController.js';

/**
 * `lifeline` with no arguments in a terminal: the TUI home is drawn before commander, the config
 * (zod, conf) and the commands load; they load behind the first frame, on the services' first
 * call. Returns undefined when this is not that case (bin/lifeline.js then runs the full CLI).
 */
export async function homeFastPath(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  if (argv.length > 2) return undefined;
  if (!decideTui({ stdinIsTTY: process.stdin.isTTY, stdoutIsTTY: process.stdout.isTTY, env }).tui) return undefined;
  // Ink's colour library ignores NO_COLOR: FORCE_COLOR=0 must be set before it loads.
  if (env.NO_COLOR !== undefined && env.FORCE_COLOR === undefined) env.FORCE_COLOR = '0';

  const controller = new AbortController();
  const interrupt = (signal: NodeJS.Signals) => {
    if (!controller.signal.aborted) controller.abort(new LifelineError('ABORTED', `Interrupted by ${signal}.`, { hint: 'Resume the run with --resume <run-id>.' }));
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);

  const paths = lifelinePaths(env);
  const notes: { current?: RunController } = {};
  let loaded: TuiServices | undefined;
  let loading: Promise<TuiServices> | undefined;
  const real = () =>
    (loading ??= (async () => {
      const [{ createContext }, { createTuiServices }] = await Promise.all([import('./context.js'), import('./tui.js')]);
      const ctx = createContext({}, controller.signal, env);
      // Lines for stderr would tear Ink's frame: they go into the run's screen instead.
      ctx.out.note = (text) => notes.current?.note(text);
      loaded = createTuiServices(ctx, {}, notes);
      return loaded;
    })());
  const services: TuiServices = {
    overview: async () => (await real()).overview(),
    health: async () => (await real()).health(),
    quickRunbooks: () => {
      const configured = peekSetting(paths, 'runbookDir');
      return quickRunbookList(runbookDirs({ userDir: userRunbookDir(paths.config, typeof configured === 'string' ? configured : undefined) }));
    },
    loadRunbooks: async () => (await real()).loadRunbooks(),
    listBackups: async () => (await real()).listBackups(),
    status: async () => (await real()).status(),
    auditRuns: async () => (await real()).auditRuns(),
    auditReport: async (runId) => (await real()).auditReport(runId),
    contacts: () => loaded?.contacts() ?? [],
    get timezone() {
      return loaded?.timezone;
    },
    startRun: async (options, run) => (await real()).startRun(options, run),
  };
  try {
    const { renderTui } = await import('../ui/render.js');
    return await renderTui({ services, initial: { name: 'home' } });
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}
