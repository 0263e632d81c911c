import { Command, CommanderError, Option } from 'commander';
import { EXIT, LifelineError } from '../errors.js';
import { redactText } from '../redact.js';
import { createContext, type Context, type GlobalOptions } from './context.js';
import { createOutput, reportError } from './output.js';
import { registerCommands } from './commands/index.js';

/** A command body: gets the context and its own options, returns an exit code. */
export type CommandAction<O> = (ctx: Context, options: O, args: string[]) => Promise<number>;
export type Run = <O>(action: CommandAction<O>) => (...commanderArgs: unknown[]) => Promise<void>;

/**
 * The exit code of a command stopped by a signal (after its cleanup): 130 for SIGINT, 143 for
 * SIGTERM (128 + the signal number, as shells report a process the signal killed). A command that
 * finished its work before it noticed the signal keeps its own code.
 */
export function interruptedExit(signal: NodeJS.Signals): number {
  return signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
}

export async function main(argv: string[]): Promise<number> {
  hidePasswordFromPs();
  if (process.env.NO_COLOR !== undefined && process.env.FORCE_COLOR === undefined) process.env.FORCE_COLOR = '0';
  let exitCode: number = EXIT.ok;
  const program = new Command('lifeline')
    .description('Guided PostgreSQL backup and recovery')
    .addOption(new Option('--json', 'print machine-readable JSON on stdout'))
    .addOption(new Option('--plain', 'plain line output, no TUI'))
    .addOption(new Option('--db <url>', 'target database URL (else LIFELINE_DB, the configured target, PG* variables, the sandbox)'))
    .addOption(new Option('--target <name>', 'a named target from the config ("sandbox" for the sandbox)'))
    .addOption(new Option('--repo <dir|s3://bucket/prefix>', 'backup repository (else LIFELINE_REPO, the config, the default)'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const run: Run = (action) => async (...commanderArgs) => {
    const command = commanderArgs[commanderArgs.length - 1] as Command;
    const options = command.opts();
    const globals = command.optsWithGlobals() as GlobalOptions;
    const args = command.args;
    const controller = new AbortController();
    let received: NodeJS.Signals | undefined;
    const interrupt = (signal: NodeJS.Signals) => {
      if (controller.signal.aborted) return;
      received = signal;
      process.stderr.write(`\n${signal} received: stopping safely...\n`);
      controller.abort(new LifelineError('ABORTED', `Interrupted by ${signal}.`, { hint: 'Nothing was left half-written; run the command again.' }));
    };
    process.on('SIGINT', interrupt);
    process.on('SIGTERM', interrupt);
    let ctx: Context | undefined;
    try {
      ctx = createContext(globals, controller.signal);
      exitCode = await action(ctx, options as never, args);
      if (received && exitCode === EXIT.interrupted) exitCode = interruptedExit(received);
    } catch (error) {
      exitCode = reportError(error, ctx?.out ?? createOutput(Boolean(globals.json)));
      // Whatever the signal made fail along the way, the exit code says it was interrupted.
      if (received) exitCode = interruptedExit(received);
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    }
  };

  registerCommands(program, run);
  // No command: the TUI home in a terminal, the help everywhere else.
  program.action(
    run(async (ctx) => {
      const { decideTui } = await import('../ui/headless.js');
      const decision = decideTui({ stdinIsTTY: process.stdin.isTTY, stdoutIsTTY: process.stdout.isTTY, env: ctx.env, plain: ctx.plain, json: ctx.out.json });
      if (decision.tui) return (await import('./tui.js')).runTui(ctx, { name: 'home' });
      program.outputHelp();
      return EXIT.ok;
    }),
  );

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    return reportError(error, createOutput(false));
  }
  return exitCode;
}

/**
 * A password typed into the command line (--db postgresql://user:pw@host/db) is readable by every
 * local user through ps and /proc/<pid>/cmdline. Overwrite our visible command line with the
 * redacted one as early as we can (children never get it: they get PGPASSWORD).
 */
function hidePasswordFromPs(): void {
  const line = process.argv.join(' ');
  const shown = redactText(line);
  if (shown !== line) process.title = shown;
}
