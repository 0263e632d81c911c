import fs from 'node:fs';
import os from 'node:os';
import type { Command } from 'commander';
import { LifelineError } from '../../errors.js';
import { redactText } from '../../redact.js';
import type { Context } from '../context.js';
import { findRunbook, runbookDirs, userRunbookDir } from '../../runbook/files.js';
import type { Run } from '../main.js';
import type { TargetInfo } from '../../runbook/template.js';
import type { LoadedRunbook } from '../../runbook/loader.js';
import type { RunServices } from '../../runbook/registry.js';
import type { Repository } from '../../storage/repository.js';
import type { RunEventSink } from '../../runbook/events.js';
import type { ParamQuestion } from '../../runbook/params.js';
import type { Answerer } from '../../runbook/runner.js';
import type { RunSession, RunSessionResult } from '../../runbook/session.js';

export interface RunFlags {
  param?: string[];
  yes?: boolean;
  dryRun?: boolean;
  resume?: string;
  operator?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerRun(program: Command, run: Run): void {
  program
    .command('run')
    .description('follow a runbook step by step (a runbook id from `lifeline runbooks list`, or a YAML file)')
    .argument('[runbook]', 'runbook id or path to a YAML file (not needed with --resume)')
    .option('--param <name=value>', 'a runbook param (repeatable)', collect)
    .option('--yes', 'answer yes/no confirmations and acknowledge manual steps (recorded as unattended); never a typed confirmation against a non-sandbox target')
    .option('--dry-run', 'run the checks, describe the actions, change nothing')
    .option('--resume <run-id>', 'continue an interrupted run from the step that did not finish')
    .option('--operator <name>', 'who runs it (else SUDO_USER, else the OS user)')
    .action(run<RunFlags>((ctx, flags, args) => runCommand(ctx, flags, args[0])));
}

async function runCommand(ctx: Context, flags: RunFlags, runbookArg: string | undefined): Promise<number> {
  const { decideTui } = await import('../../ui/headless.js');
  if (decideTui({ stdinIsTTY: process.stdin.isTTY, stdoutIsTTY: process.stdout.isTTY, env: ctx.env, plain: ctx.plain, json: ctx.out.json }).tui) {
    const { runTui } = await import('../tui.js');
    return runTui(ctx, { name: 'run', options: { runbook: runbookArg, params: parseParamFlags(flags.param ?? []), resume: flags.resume } }, flags);
  }
  const [{ createPlainRenderer }] = await Promise.all([import('../../runbook/plain-renderer.js')]);
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const write = (line: string) => (ctx.out.json ? process.stderr : process.stdout).write(`${redactText(line)}\n`);
  let prompter: import('../../runbook/line-prompter.js').LinePrompter | undefined;
  if (interactive) prompter = (await import('../../runbook/line-prompter.js')).createLinePrompter(process.stdin, process.stderr);
  try {
    const { result, loaded } = await executeRun(ctx, flags, runbookArg, {
      askParam: prompter?.askParam,
      person: prompter?.answer,
      sinks: [createPlainRenderer({ write, showQuestions: !prompter })],
    });
    if (result.outcome === 'interrupted' || result.outcome === 'input-needed') write(`resume with: lifeline run --resume ${result.runId}`);
    if (result.outcome === 'failed' || result.outcome === 'aborted') {
      const contacts = [...loaded.runbook.contacts, ...ctx.config.contacts];
      for (const contact of contacts) write(`contact: ${[contact.name, contact.role, contact.phone, contact.email].filter(Boolean).join(', ')}`);
    }
    write(`audit trail: ${result.auditFile} (lifeline audit report ${result.runId})`);
    if (!flags.dryRun && !result.uploadError) write(`audit copy: ${ctx.repo().url.replace(/\/$/, '')}/audit/${result.runId}.jsonl`);
    if (result.uploadError) ctx.out.note(`warning: the audit trail was not copied to the repository: ${result.uploadError}`);
    ctx.out.result({ run: result });
    return result.exitCode;
  } finally {
    prompter?.close();
  }
}

/** How a run meets its operator: the plain renderer + line prompter, or the TUI. */
export interface RunFrontEnd {
  /** Asks for a param without a value (absent: nobody can answer). */
  askParam?: (question: ParamQuestion) => Promise<string>;
  /** A person who answers the Runner's questions (absent: only --yes answers). */
  person?: Answerer;
  sinks: RunEventSink[];
  /** The session exists (the TUI forwards its abort key to the Runner). */
  onSession?(session: RunSession): void;
}

/** Loads the runbook (or the run to resume), resolves params, and runs it with one front end. */
export async function executeRun(ctx: Context, flags: RunFlags, runbookArg: string | undefined, frontEnd: RunFrontEnd): Promise<{ result: RunSessionResult; loaded: LoadedRunbook }> {
  const [{ createBuiltinRegistry }, loader, { resolveParams }, { newRunId, loadRunState }, { openRunSession }, { unattendedAnswerer }, { operatorName, hostName }, paths] =
    await Promise.all([
      import('../../runbook/builtins.js'),
      import('../../runbook/loader.js'),
      import('../../runbook/params.js'),
      import('../../runbook/run-state.js'),
      import('../../runbook/session.js'),
      import('../../runbook/answerers.js'),
      import('../../engine/operator.js'),
      import('../../config/paths.js'),
    ]);
  const registry = createBuiltinRegistry();
  const services = runServices(ctx);
  const runsDir = paths.runsDir(ctx.paths);
  const auditDir = paths.auditDir(ctx.paths);
  const operator = operatorName(flags.operator, ctx.env);
  const host = hostName();
  const given = parseParamFlags(flags.param ?? []);

  let loaded: LoadedRunbook;
  let start: import('../../runbook/runner.js').RunStart;
  if (flags.resume) {
    if (Object.keys(given).length) throw new LifelineError('USAGE', '--param cannot change a resumed run.', { hint: 'A resumed run keeps the params it started with.' });
    const state = loadRunState(runsDir, flags.resume);
    loaded = loader.loadRunbookFile(state.runbookFile, registry);
    if (runbookArg && findRunbook(runbookArg, dirs(ctx)) !== state.runbookFile) {
      throw new LifelineError('USAGE', `Run ${state.runId} belongs to runbook ${state.runbookFile}, not ${runbookArg}.`, { hint: `Leave the runbook out: lifeline run --resume ${state.runId}` });
    }
    start = { kind: 'resume', state };
  } else {
    if (!runbookArg) throw new LifelineError('USAGE', 'Which runbook?', { hint: 'Give a runbook id (see `lifeline runbooks list`) or a YAML file, or --resume <run-id>.' });
    loaded = loader.loadRunbookFile(findRunbook(runbookArg, dirs(ctx)), registry);
    const runId = newRunId(loaded.runbook.id);
    const params = await resolveParams({
      loaded,
      given,
      run: { id: runId, operator, host, started_at: new Date().toISOString() },
      ask: frontEnd.askParam,
      resolveBackup: async (ref) => {
        const { findBackup } = await import('../../runbook/engine-services.js');
        return (await findBackup(services, ref))?.id;
      },
    });
    start = { kind: 'new', params, target: await describeTarget(ctx, loaded), runId };
  }

  const session = await openRunSession({
    loaded,
    registry,
    start,
    operator,
    host,
    services,
    answer: unattendedAnswerer({ yes: Boolean(flags.yes), person: frontEnd.person }),
    runsDir,
    auditDir,
    dryRun: flags.dryRun,
    signal: ctx.signal,
    contacts: ctx.config.contacts,
    sinks: frontEnd.sinks,
    uploadAudit: async (runId, file) => {
      const [repo, { auditKey }] = await Promise.all([services.repo!(), import('../../storage/repository.js')]);
      await repo.put(auditKey(runId), fs.createReadStream(file));
    },
  });
  frontEnd.onSession?.(session);
  return { result: await session.run(), loaded };
}

/**
 * What actions and checks may use: the target (the sandbox brought up on first use), the
 * repository (opened once), the config and lifeline's folders. Nothing is opened until a step needs it.
 */
export function runServices(ctx: Context): RunServices {
  let connection: ReturnType<Context['connect']> | undefined;
  let repo: Promise<Repository> | undefined;
  return {
    env: ctx.env,
    config: ctx.config,
    paths: ctx.paths,
    connect: () => (connection ??= ctx.connect()),
    repo: () =>
      (repo ??= import('../../storage/open-repository.js').then(({ openRepository }) =>
        openRepository(ctx.repo().url, { minimumVerifiedLevel: ctx.config.verify.minimumLevel }),
      )),
  };
}

/** Where `run`, `runbooks` and the TUI look for runbooks: the user's folder, then the shipped one. */
export function dirs(ctx: Context) {
  return runbookDirs({ userDir: userRunbookDir(ctx.paths.config, ctx.config.runbookDir) });
}

function parseParamFlags(values: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const value of values) {
    const at = value.indexOf('=');
    if (at <= 0) throw new LifelineError('USAGE', `--param ${value}: expected name=value.`, { hint: 'e.g. --param target_time=2026-11-24T21:30:00Z' });
    params[value.slice(0, at)] = value.slice(at + 1);
  }
  return params;
}

/** The run's target as runbooks may name it; the sandbox is only brought up when a step needs its details. */
async function describeTarget(ctx: Context, loaded: LoadedRunbook): Promise<TargetInfo> {
  const target = ctx.target();
  if (target.kind === 'sandbox') {
    if (!/\{\{\s*target\.(database|host)\s*\}\}/.test(JSON.stringify(loaded.runbook))) return { name: 'sandbox', sandbox: true, label: 'the sandbox' };
    const { conn, label } = await ctx.connect();
    return { name: 'sandbox', sandbox: true, label, database: conn.database, host: conn.host };
  }
  const { describeConn } = await import('../../postgres/conninfo.js');
  const { conn } = target;
  return {
    name: target.name,
    sandbox: false,
    // libpq's defaults, so that {{target.database}} is the database the tools will reach.
    database: conn.database ?? ctx.env.PGDATABASE ?? conn.user ?? ctx.env.PGUSER ?? os.userInfo().username,
    host: conn.host ?? ctx.env.PGHOST ?? 'localhost',
    label: `${describeConn(conn)} [${target.source}]`,
  };
}
