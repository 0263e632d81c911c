import type { Command } from 'commander';
import path from 'node:path';
import { EXIT } from '../../errors.js';
import type { Run } from '../main.js';
import type { GlobalOptions } from '../context.js';

export function registerAgent(program: Command, run: Run): void {
  program
    .command('agent')
    .description("run the policy's schedule in the foreground (daily, pitr, verify, prune, drill), one job at a time")
    .option('--print-cron', 'print the equivalent crontab lines instead')
    .option('--print-systemd', 'print the equivalent systemd service and timer units instead')
    .action(
      run<{ printCron?: boolean; printSystemd?: boolean }>(async (ctx, flags, _args) => {
        const { jobsFromPolicy, printCron, printSystemd } = await import('../agent/schedule.js');
        const jobs = jobsFromPolicy(ctx.config.policy);
        const globals = program.opts<GlobalOptions>();
        const passed = [
          ...(globals.db ? ['--db', globals.db] : []),
          ...(globals.target ? ['--target', globals.target] : []),
          ...(globals.repo ? ['--repo', globals.repo] : []),
        ];
        const self = [process.execPath, path.resolve(process.argv[1])];
        if (flags.printCron || flags.printSystemd) {
          const command = [...self, ...passed].map((a) => (/^[A-Za-z0-9_./=:-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
          const home = ctx.env.LIFELINE_HOME ? `LIFELINE_HOME=${ctx.env.LIFELINE_HOME} ` : '';
          process.stdout.write(flags.printCron ? printCron(jobs, `${home}${command}`) : printSystemd(jobs, command));
          return EXIT.ok;
        }
        const [{ runAgent }, { operatorName, hostName }, { auditDir }] = await Promise.all([
          import('../agent/agent.js'),
          import('../../engine/operator.js'),
          import('../../config/paths.js'),
        ]);
        await runAgent({
          jobs,
          command: [...self, ...passed],
          stateFile: path.join(ctx.paths.state, 'agent.json'),
          auditDir: auditDir(ctx.paths),
          operator: operatorName(undefined, ctx.env),
          host: hostName(),
          signal: ctx.signal,
          onNote: (text) => ctx.out.note(`${new Date().toISOString()} ${text}`),
        });
        ctx.out.note('agent stopped');
        return EXIT.ok;
      }),
    );
}
