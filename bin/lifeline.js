#!/usr/bin/env node
// wal-push / wal-fetch run once per WAL file from PostgreSQL: they skip loading the full CLI.
const args = process.argv.slice(2);
const fast = args.includes('wal-push') || args.includes('wal-fetch')
  ? await (await import('../dist/cli/commands/wal.js')).walFastPath(args)
  : undefined;
if (fast !== undefined) {
  process.exitCode = fast;
} else {
  const { main } = await import('../dist/cli/main.js');
  process.exitCode = await main(process.argv);
}
