import { Command, CommanderError, Option } from 'commander';
import { EXIT, LifelineError } from '../errors.js';
import { createContext, type Context, type GlobalOptions } from './context.js';
import { createOutput, reportError } from './output.js';
import { registerCommands } from './commands/index.js';

/** A command body: gets the context and its own options, returns an exit code. */
export type CommandAction<O> = (ctx: Context, options: O, args: string[]) => Promise<number>;
export type Run = <O>(action: CommandAction<O>) => (...commanderArgs: unknown[]) => Promise<void>;

export async function main(argv: string[]): Promise<number> {
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
    const interrupt = (signal: NodeJS.Signals) => {
      if (controller.signal.aborted) return;
      process.stderr.write(`\n${signal} received: stopping safely...\n`);
      controller.abort(new LifelineError('ABORTED', `Interrupted by ${signal}.`, { hint: 'Nothing was left half-written; run the command again.' }));
    };
    process.on('SIGINT', interrupt);
    process.on('SIGTERM', interrupt);
    let ctx: Context | undefined;
    try {
      ctx = createContext(globals, controller.signal);
      exitCode = await action(ctx, options as never, args);
    } catch (error) {
      exitCode = reportError(error, ctx?.out ?? createOutput(Boolean(globals.json)));
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
