import { Option, type Command } from 'commander';
import { EXIT } from '../../errors.js';
import type { Run } from '../main.js';
import { wholeNumberFlag } from '../flags.js';

interface NameOption {
  name: string;
}

const nameOption = () => new Option('--name <name>', 'which sandbox (separate clusters, e.g. drill-restore)').default('default');

export function registerSandbox(program: Command, run: Run): void {
  const sandbox = program
    .command('sandbox')
    .description('a local disposable PostgreSQL cluster with a demo shop database, for drills and trying things out');

  sandbox
    .command('up')
    .description('create (and seed) the sandbox if missing, start it if stopped')
    .addOption(nameOption())
    .action(
      run<NameOption>(async (ctx, options) => {
        const { ensureSandbox } = await import('../../postgres/sandbox.js');
        const s = await ensureSandbox({ paths: ctx.paths, name: options.name, signal: ctx.signal, onNote: (text) => ctx.out.note(text) });
        ctx.out.result({
          name: s.name,
          url: s.url,
          database: s.database,
          port: s.port,
          socketDir: s.socketDir,
          dataDir: s.dataDir,
          created: s.created,
        });
        ctx.out.line(`sandbox "${s.name}" is up${s.created ? ' (new)' : ''}`);
        ctx.out.line(`  url       ${s.url}`);
        ctx.out.line(`  database  ${s.database}`);
        ctx.out.line(`  data      ${s.dataDir}`);
        ctx.out.line(`  socket    ${s.socketDir} (port ${s.port})`);
        return EXIT.ok;
      }),
    );

  sandbox
    .command('down')
    .description('stop the sandbox (--destroy also removes its files)')
    .addOption(nameOption())
    .option('--destroy', 'remove the cluster and all its data')
    .action(
      run<NameOption & { destroy?: boolean }>(async (ctx, options) => {
        const { stopSandbox, destroySandbox } = await import('../../postgres/sandbox.js');
        if (options.destroy) {
          const { existed } = await destroySandbox({ paths: ctx.paths, name: options.name, signal: ctx.signal });
          ctx.out.result({ name: options.name, destroyed: existed });
          ctx.out.line(existed ? `sandbox "${options.name}" removed` : `no sandbox "${options.name}": nothing to remove`);
          return EXIT.ok;
        }
        const { existed, wasRunning } = await stopSandbox({ paths: ctx.paths, name: options.name, signal: ctx.signal });
        ctx.out.result({ name: options.name, existed, stopped: wasRunning });
        ctx.out.line(
          !existed ? `no sandbox "${options.name}"` : wasRunning ? `sandbox "${options.name}" stopped` : `sandbox "${options.name}" was not running`,
        );
        return EXIT.ok;
      }),
    );

  sandbox
    .command('status')
    .description('whether the sandbox exists and runs, and where')
    .addOption(nameOption())
    .action(
      run<NameOption>(async (ctx, options) => {
        const { sandboxStatus } = await import('../../postgres/sandbox.js');
        const status = await sandboxStatus({ paths: ctx.paths, name: options.name });
        ctx.out.result(status);
        if (!status.exists) {
          ctx.out.line(`no sandbox "${status.name}" yet (\`lifeline sandbox up\` creates it)`);
        } else {
          ctx.out.line(`sandbox "${status.name}": ${status.running ? `running (PID ${status.pid})` : 'stopped'}`);
          ctx.out.line(`  url       ${status.url}`);
          ctx.out.line(`  data      ${status.dataDir}`);
          ctx.out.line(`  socket    ${status.socketDir} (port ${status.port})`);
        }
        return EXIT.ok;
      }),
    );

  sandbox
    .command('seed')
    .description('drop the demo shop database and create it again with fresh data')
    .addOption(nameOption())
    .option('--rows <n>', 'about how many rows in total (default 100000)')
    .action(
      run<NameOption & { rows?: string }>(async (ctx, options) => {
        const rows = options.rows === undefined ? undefined : wholeNumberFlag('--rows', options.rows, { min: 100, max: 100_000_000 });
        const { reseedSandbox } = await import('../../postgres/sandbox.js');
        const s = await reseedSandbox({ paths: ctx.paths, name: options.name, rows, signal: ctx.signal, onNote: (text) => ctx.out.note(text) });
        ctx.out.result({ name: s.name, url: s.url, database: s.database, rows: s.seed });
        ctx.out.line(
          `sandbox "${s.name}": ${s.database} seeded with ${s.seed.total} rows ` +
            `(${s.seed.customers} customers, ${s.seed.products} products, ${s.seed.orders} orders, ${s.seed.order_items} order items)`,
        );
        return EXIT.ok;
      }),
    );

  sandbox
    .command('url')
    .description('print a postgresql:// URL for the sandbox (starting it if needed)')
    .addOption(nameOption())
    .action(
      run<NameOption>(async (ctx, options) => {
        const { ensureSandbox } = await import('../../postgres/sandbox.js');
        const s = await ensureSandbox({ paths: ctx.paths, name: options.name, signal: ctx.signal, onNote: (text) => ctx.out.note(text) });
        ctx.out.result({ name: s.name, url: s.url });
        ctx.out.line(s.url);
        return EXIT.ok;
      }),
    );
}
