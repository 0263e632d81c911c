#!/usr/bin/env node
// Physical backup, WAL archiving and point-in-time recovery: lifeline against pgBackRest (Debian's
// `pgbackrest` package) on the same cluster, the same data and the same target time, both with
// zstd level 3 and one process. PostgreSQL archives every WAL file to both repositories
// (archive_command runs lifeline wal-push, then pgbackrest archive-push).
//
//   base backup      lifeline backup --physical   vs  pgbackrest backup --type=full
//   PITR             lifeline pitr --data-dir     vs  pgbackrest restore --type=time + start + recovery
//                    (both until the recovered server is promoted and answers)
//   WAL push         per call, on copies of real 16 MiB segments, against `node -e 0`
//
// Knobs: BENCH_PITR_MB (database size, default 512), BENCH_WAL_MB (WAL written after the backups, 256),
// BENCH_REPEAT (1: with n, both recoveries run n times, interleaved, and the medians count),
// BENCH_BR_RESTORE_PROCESSES (pgBackRest restore's --process-max, 1).
// Usage: npm run build && node bench/pitr.mjs
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCluster } from '../dist/postgres/cluster.js';
import { withClient } from '../dist/postgres/client.js';
import { archiveCommand, shellWord } from '../dist/engine/wal/command.js';
import { shareRepositoryWithServer } from '../dist/engine/wal/archiving.js';
import { chownToServerUser, serverUser } from '../dist/postgres/server-user.js';
import { LocalStore } from '../dist/storage/local-store.js';
import { cli, mib, randomTextDatabase, ratio, timed } from './lib.mjs';

const sizeMb = Number(process.env.BENCH_PITR_MB ?? 512);
const walMb = Number(process.env.BENCH_WAL_MB ?? 256);
const repeat = Math.max(1, Number(process.env.BENCH_REPEAT ?? 1));
/** pgBackRest's restore processes: 1 like its backup, or 2 to match lifeline's zstd + tar pair. */
const brRestoreProcesses = Math.max(1, Number(process.env.BENCH_BR_RESTORE_PROCESSES ?? 1));
/** The run with the median wall time. */
const median = (runs) => [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor((runs.length - 1) / 2)];

const pgbackrest = ['/usr/bin/pgbackrest', '/usr/local/bin/pgbackrest'].find((file) => fs.existsSync(file));
if (!pgbackrest) {
  console.log('pgBackRest is not installed (apt-get install pgbackrest): skipping the PITR comparison.');
  process.exit(0);
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-bench-pitr-'));
const user = await serverUser();
/** pgBackRest must run as the server's user (it reads the data directory and writes its repository). */
const asServer = (file, args) => (process.getuid?.() === 0 && user.name !== 'root' ? ['runuser', ['-u', user.name, '--', file, ...args]] : [file, args]);

const lifelineRepo = path.join(root, 'lifeline-repo');
const brDir = path.join(root, 'pgbackrest');
for (const sub of ['repo', 'log', 'lock', 'spool']) fs.mkdirSync(path.join(brDir, sub), { recursive: true });
await shareRepositoryWithServer(new LocalStore({ root: lifelineRepo }), lifelineRepo);

const cluster = await createCluster({
  dir: path.join(root, 'source'),
  settings: {
    shared_buffers: '256MB',
    max_wal_size: '4GB',
    checkpoint_timeout: '30min',
    wal_level: 'replica',
    archive_mode: 'on',
    max_wal_senders: 4,
    // Keeps archived segments in pg_wal so the per-call WAL push measure can copy real ones.
    wal_keep_size: '1GB',
  },
});
const brConf = path.join(brDir, 'pgbackrest.conf');
fs.writeFileSync(
  brConf,
  [
    '[global]',
    `repo1-path=${brDir}/repo`,
    `log-path=${brDir}/log`,
    `lock-path=${brDir}/lock`,
    `spool-path=${brDir}/spool`,
    'repo1-retention-full=4',
    'compress-type=zst',
    'compress-level=3',
    'process-max=1',
    'start-fast=y',
    'log-level-console=warn',
    'log-level-file=off',
    '',
    '[bench]',
    `pg1-path=${cluster.dataDir}`,
    `pg1-port=${cluster.port}`,
    `pg1-socket-path=${cluster.socketDir}`,
    'pg1-user=postgres',
    '',
  ].join('\n'),
);
await chownToServerUser(root, { recursive: true });
const br = (args, label = `pgbackrest ${args.at(-1)}`) => {
  const [file, argv] = asServer(pgbackrest, [`--config=${brConf}`, '--stanza=bench', ...args]);
  return timed(label, file, argv);
};

const sql = (text, database = 'bench') => withClient(cluster.conn(database), async (client) => (await client.query(text)).rows);
const results = [];
try {
  const archiveBoth = `${archiveCommand({ repo: lifelineRepo })} && ${shellWord(pgbackrest)} --config=${shellWord(brConf)} --stanza=bench archive-push %p`;
  await sql(`ALTER SYSTEM SET archive_command = ${quote(archiveBoth)}`, 'postgres');
  await sql('SELECT pg_reload_conf()', 'postgres');
  await br(['stanza-create']);

  process.stderr.write(`building a ${sizeMb} MB database...\n`);
  const { conn } = await randomTextDatabase(cluster, 'bench', sizeMb);
  const db = `postgresql://postgres@/${conn.database}?host=${encodeURIComponent(cluster.socketDir)}&port=${cluster.port}`;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-bench-home-'));
  const env = { ...process.env, LIFELINE_HOME: home };

  // Loading the database wrote hundreds of MB of WAL, still being archived: a base backup waits
  // for its own last segment to be archived, so the first one timed would pay for the backlog.
  await archiveCaughtUp();
  const lifelineBase = await timed('lifeline backup --physical', process.execPath, [cli, '--db', db, '--repo', lifelineRepo, 'backup', '--physical', '--verify', 'none'], { env });
  await archiveCaughtUp();
  const brBase = await br(['--type=full', 'backup']);

  // Commits before T, T, commits after T; then the WAL holding them reaches both archives.
  process.stderr.write(`writing ${walMb} MB of WAL around the target time...\n`);
  const writeWal = (mb, tag) => sql(`INSERT INTO events SELECT 10000000000 + g + ${tag}, 1, 1, now() FROM generate_series(1, ${mb * 12000}) g`);
  await writeWal(walMb / 2, 0);
  await sql("CREATE TABLE marker (phase text); INSERT INTO marker VALUES ('A')");
  const [{ t: target }] = await sql(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS t`);
  await sql("INSERT INTO marker VALUES ('B')");
  await writeWal(walMb / 2, 5_000_000_000);
  await archiveCaughtUp();

  // With BENCH_REPEAT=n both recoveries run n times, interleaved and in alternating order; the
  // median of each counts. Each starts after a sync, so neither pays for the other's writeback.
  const lifelineRuns = [];
  const brRuns = [];
  const recoverLifeline = async (run) => {
    const lifelineDir = path.join(root, `pitr-lifeline-${run}`);
    await execa('sync');
    const lifelinePitr = await timed('lifeline pitr', process.execPath, [cli, '--repo', lifelineRepo, 'pitr', '--to', target, '--data-dir', lifelineDir, '--yes', '--json'], { env });
    lifelineRuns.push({ ...lifelinePitr, out: JSON.parse(lifelinePitr.stdout), rows: await markerRows(JSON.parse(lifelinePitr.stdout)) });
    await stopRecovered(`${lifelineDir}.lifeline`);
    fs.rmSync(lifelineDir, { recursive: true, force: true });
  };
  const recoverPgBackRest = async (run) => {
    const brData = path.join(root, `pitr-pgbackrest-${run}`);
    fs.mkdirSync(brData, { mode: 0o700 });
    await chownToServerUser(brData);
    await execa('sync');
    const started = process.hrtime.bigint();
    const brRestore = await br([`--pg1-path=${brData}`, `--process-max=${brRestoreProcesses}`, '--type=time', `--target=${target}`, '--target-action=promote', 'restore']);
    const recovered = await createCluster({ dir: path.join(root, `pitr-pgbackrest-${run}.cluster`), adoptDataDir: brData, settings: { archive_mode: 'off' } });
    await waitFor(async () => !(await withClient(recovered.conn('postgres'), async (c) => (await c.query('SELECT pg_is_in_recovery() AS r')).rows[0].r)), 'pgBackRest\'s recovery to finish');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const rows = (await withClient(recovered.conn('bench'), (c) => c.query('SELECT phase FROM marker ORDER BY phase'))).rows.map((r) => r.phase).join(',');
    await recovered.destroy();
    fs.rmSync(brData, { recursive: true, force: true });
    brRuns.push({ seconds, restore: brRestore, rows });
  };
  for (let run = 0; run < repeat; run++) {
    for (const recover of run % 2 ? [recoverPgBackRest, recoverLifeline] : [recoverLifeline, recoverPgBackRest]) await recover(run);
  }
  const lifelinePitr = median(lifelineRuns);
  const brPitr = median(brRuns);

  const perCall = await walPushPerCall(cluster, brConf, env);

  const lifelineRepoBytes = await duBytes(lifelineRepo);
  const brRepoBytes = await duBytes(path.join(brDir, 'repo'));
  results.push(
    ['base backup', `${lifelineBase.seconds.toFixed(1)} s`, `${brBase.seconds.toFixed(1)} s`, ratio(lifelineBase.seconds, brBase.seconds)],
    ['PITR to T, until the promoted server answers', `${lifelinePitr.seconds.toFixed(2)} s (rows: ${lifelinePitr.rows})`, `${brPitr.seconds.toFixed(2)} s (rows: ${brPitr.rows})`, ratio(lifelinePitr.seconds, brPitr.seconds)],
    ['  of which extract, recovery', phases(lifelinePitr.out.timings), `${brPitr.restore.seconds.toFixed(1)} s, ${(brPitr.seconds - brPitr.restore.seconds).toFixed(1)} s`, ''],
    ['WAL push, per 16 MiB segment', `${perCall.lifeline.toFixed(0)} ms`, `${perCall.pgbackrest.toFixed(0)} ms`, ratio(perCall.lifeline, perCall.pgbackrest)],
    ['  of which start-up (node -e 0)', `${perCall.node.toFixed(0)} ms`, '', ''],
    ['repository (base + WAL)', `${mib(lifelineRepoBytes)} MiB`, `${mib(brRepoBytes)} MiB`, ratio(lifelineRepoBytes, brRepoBytes)],
    ['peak RSS, base backup', `${lifelineBase.rssMb.toFixed(0)} MiB`, `${brBase.rssMb.toFixed(0)} MiB`, ''],
  );
  fs.rmSync(home, { recursive: true, force: true });
} finally {
  await cluster.destroy().catch(() => undefined);
  if (!process.env.BENCH_KEEP) fs.rmSync(root, { recursive: true, force: true });
}

console.log(`\n### PITR: lifeline vs pgBackRest ${sizeMb} MB database, ${walMb} MB of WAL after the backup (zstd 3, one process each${brRestoreProcesses > 1 ? ` (pgBackRest restore: ${brRestoreProcesses})` : ''}${repeat > 1 ? `; PITR: median of ${repeat} interleaved runs` : ''})\n`);
console.log('| measure | lifeline | pgBackRest | lifeline / pgBackRest |');
console.log('| --- | --- | --- | --- |');
for (const row of results) console.log(`| ${row.join(' | ')} |`);
console.log('\nRows "A" only means the recovery stopped at T (B was committed after it).');

/** lifeline's own split of a PITR: extraction and recovery (the rest is planning and start-up). */
function phases(timings) {
  return timings ? `${(timings.extractMs / 1000).toFixed(1)} s, ${(timings.recoverMs / 1000).toFixed(1)} s` : '';
}

/** Switches to a new WAL segment and waits until every segment before it is in both archives. */
async function archiveCaughtUp() {
  const [{ last }] = await sql('SELECT pg_walfile_name(pg_switch_wal()) AS last', 'postgres');
  await waitFor(async () => (await sql('SELECT last_archived_wal FROM pg_stat_archiver', 'postgres'))[0].last_archived_wal >= last, 'the WAL to be archived');
}
function quote(text) {
  return `'${text.replace(/'/g, "''")}'`;
}

async function waitFor(check, what, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function markerRows(out) {
  const conn = { host: out.socketDir, port: out.port, user: 'postgres', database: 'bench', params: {} };
  return (await withClient(conn, (c) => c.query('SELECT phase FROM marker ORDER BY phase'))).rows.map((r) => r.phase).join(',');
}

async function stopRecovered(dir) {
  const { openCluster } = await import('../dist/postgres/cluster.js');
  await (await openCluster(dir)).destroy();
}

/** Copies of archived segments still in pg_wal, pushed one call at a time into fresh repositories. */
async function walPushPerCall(cluster, conf, env) {
  const statusDir = path.join(cluster.dataDir, 'pg_wal', 'archive_status');
  const done = fs.readdirSync(statusDir).filter((f) => /^[0-9A-F]{24}\.done$/.test(f)).map((f) => f.slice(0, 24)).sort().slice(-8);
  const copies = path.join(root, 'segments');
  fs.mkdirSync(copies);
  for (const name of done) fs.copyFileSync(path.join(cluster.dataDir, 'pg_wal', name), path.join(copies, name));
  await chownToServerUser(copies, { recursive: true });
  const freshLifeline = path.join(root, 'push-lifeline');
  const freshBr = path.join(root, 'push-pgbackrest');
  fs.mkdirSync(freshBr);
  await chownToServerUser(freshBr);
  const brPush = (name) => asServer(pgbackrest, [`--config=${conf}`, '--stanza=bench', `--repo1-path=${freshBr}`, 'archive-push', path.join(copies, name)]);
  const [file, argv] = asServer(pgbackrest, [`--config=${conf}`, '--stanza=bench', `--repo1-path=${freshBr}`, 'stanza-create']);
  await execa(file, argv);
  const perCall = async (run) => {
    const started = process.hrtime.bigint();
    for (const name of done) await run(name);
    return Number(process.hrtime.bigint() - started) / 1e6 / done.length;
  };
  return {
    node: await perCall(() => execa(process.execPath, ['-e', '0'])),
    lifeline: await perCall((name) => execa(process.execPath, [cli, 'wal-push', '--repo', freshLifeline, path.join(copies, name)], { env })),
    pgbackrest: await perCall((name) => execa(...brPush(name))),
  };
}

async function duBytes(dir) {
  const { stdout } = await execa('du', ['-sb', dir]);
  return Number(stdout.split('\t')[0]);
}
