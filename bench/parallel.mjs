// Parallel logical backup and restore: lifeline serial vs `--jobs N` vs raw `pg_dump -Fd -j N` /
// `pg_restore -j N`, same database, same run; then the repository size per compression codec.
// Usage: npm run build && node bench/parallel.mjs   (BENCH_PARALLEL_MB=256 BENCH_JOBS=2 BENCH_TABLES=4)
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchCluster, cli, fileSize, lifelineRestore, mib, pgEnv, randomTextDatabase, ratio, timed } from './lib.mjs';
import { describeConn } from '../dist/postgres/conninfo.js';
import { withClient } from '../dist/postgres/client.js';

const mb = Number(process.env.BENCH_PARALLEL_MB ?? 256);
const jobs = Number(process.env.BENCH_JOBS ?? 2);
const tables = Number(process.env.BENCH_TABLES ?? 4);

const dirSize = (dir) => fs.readdirSync(dir).reduce((sum, f) => sum + fileSize(path.join(dir, f)), 0);
const stored = (manifest) => manifest.objects.filter((o) => o.name !== 'globals.sql').reduce((sum, o) => sum + o.size, 0);

async function recreate(cluster, name) {
  await withClient(cluster.conn('postgres'), async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${name}" TEMPLATE template0`);
  });
}
async function drop(cluster, name) {
  await withClient(cluster.conn('postgres'), (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

const bench = await benchCluster();
const backups = [];
const restores = [];
const codecs = [];
let size = 0;
try {
  process.stderr.write(`building a ${mb} MB random-text database in ${tables} tables...\n`);
  const source = await randomTextDatabase(bench.cluster, 'bench_parallel', mb, { tables });
  size = source.size;
  const db = source.conn.database;
  const env = pgEnv(bench.cluster);
  const out = path.join(bench.dir, 'out');
  fs.mkdirSync(out);
  const home = path.join(bench.dir, 'home');
  const lifelineEnv = { ...process.env, LIFELINE_HOME: home, NO_COLOR: '1', LIFELINE_OPERATOR: 'bench' };
  const url = describeConn(source.conn);
  const backup = async (label, args) => {
    process.stderr.write(`${label}\n`);
    const run = await timed(label, 'node', [cli, '--db', url, '--json', 'backup', '--verify', 'none', ...args], { env: lifelineEnv });
    return { ...run, manifest: JSON.parse(run.stdout).backup };
  };

  // ---- backups ----
  process.stderr.write('raw pg_dump runs\n');
  const pipe = await timed(`pg_dump -Fc -Z0 \\| zstd -T0 -3`, 'bash', ['-c', `"$1" -Fc -Z0 "$2" | zstd -q -T0 -3 > "$3"`, '_', bench.tools.pg_dump, db, path.join(out, 'pipe.dump.zst')], { env });
  backups.push({ ...pipe, bytes: fileSize(path.join(out, 'pipe.dump.zst')) });
  const rawGzip = await timed(`pg_dump -Fd -j ${jobs} (its gzip -Z6)`, bench.tools.pg_dump, ['-Fd', `-j${jobs}`, '-f', path.join(out, 'dir-gzip'), db], { env });
  backups.push({ ...rawGzip, bytes: dirSize(path.join(out, 'dir-gzip')) });
  fs.rmSync(path.join(out, 'dir-gzip'), { recursive: true });
  const rawDir = path.join(out, 'dir-plain');
  const rawPlain = await timed(`pg_dump -Fd -j ${jobs} -Z0`, bench.tools.pg_dump, ['-Fd', `-j${jobs}`, '-Z0', '-f', rawDir, db], { env });
  backups.push({ ...rawPlain, bytes: dirSize(rawDir) });
  // The hand-made equivalent of lifeline's layout: then every file through zstd (kept for restore).
  const zstdDir = path.join(out, 'dir-zstd');
  const rawZstd = await timed(`pg_dump -Fd -j ${jobs} -Z0 + zstd -3 each file`, 'bash', ['-c', `"$1" -Fd -j"$2" -Z0 -f "$3" "$4" && zstd -q -T0 -3 --rm "$3"/*`, '_', bench.tools.pg_dump, String(jobs), zstdDir, db], { env });
  backups.push({ ...rawZstd, bytes: dirSize(zstdDir) });
  fs.rmSync(zstdDir, { recursive: true });

  const serial = await backup('lifeline backup', []);
  backups.push({ ...serial, bytes: stored(serial.manifest) });
  const parallel = await backup(`lifeline backup --jobs ${jobs}`, ['--jobs', String(jobs)]);
  backups.push({ ...parallel, bytes: stored(parallel.manifest) });

  // ---- restores ----
  const pgenv = pgEnv(bench.cluster);
  process.stderr.write('raw pg_restore runs\n');
  await recreate(bench.cluster, 'raw_serial');
  const storedSerial = path.join(home, 'data', 'repository', 'backups', serial.manifest.id, serial.manifest.objects[0].name);
  restores.push(await timed('zstd -dc \\| pg_restore', 'bash', ['-c', 'zstd -q -dc "$1" | "$2" --exit-on-error -d raw_serial', '_', storedSerial, bench.tools.pg_restore], { env: pgenv }));
  await drop(bench.cluster, 'raw_serial');
  await recreate(bench.cluster, 'raw_parallel');
  restores.push(await timed(`pg_restore -j ${jobs} (local -Z0 folder)`, bench.tools.pg_restore, ['--exit-on-error', `-j${jobs}`, '-d', 'raw_parallel', rawDir], { env: pgenv }));
  await drop(bench.cluster, 'raw_parallel');
  for (const [label, manifest, restoreJobs] of [
    ['lifeline restore (custom, stdin)', serial.manifest, 1],
    [`lifeline restore --jobs ${jobs} (custom, ranged reads + staged file)`, serial.manifest, jobs],
    [`lifeline restore --jobs ${jobs} (directory backup)`, parallel.manifest, jobs],
  ]) {
    process.stderr.write(`${label}\n`);
    const run = await lifelineRestore(['--db', url, 'restore', manifest.id, '--into', 'via_lifeline', '--jobs', String(restoreJobs), '--yes'], lifelineEnv);
    await drop(bench.cluster, 'via_lifeline');
    restores.push({ label, seconds: run.total, restore: run.restore, checks: run.integrity + run.analyze + run.verify, rssMb: run.rssMb });
  }

  // ---- repository size per codec ----
  for (const spec of ['none', 'lz4', 'gzip', 'zstd']) {
    const run = await backup(`lifeline backup --compress ${spec}`, ['--compress', spec]);
    codecs.push({ spec: `${spec}${run.manifest.compression.level ? `:${run.manifest.compression.level}` : ''}`, seconds: run.seconds, rssMb: run.rssMb, bytes: stored(run.manifest), ratio: run.manifest.compression.ratio });
  }
} finally {
  await bench.cleanup();
}

const s = (x) => x.toFixed(2);
const when = `${new Date().toISOString().slice(0, 10)}, load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`;
console.log(`\n### Parallel logical backup (${mib(size)} MiB database in ${tables} text tables + 1, --jobs ${jobs}, ${when})\n`);
console.log('| tool | wall s | stored MiB | peak RSS MiB | time vs pg_dump -Fc \\| zstd | time vs pg_dump -Fd -j + zstd |');
console.log('|---|---:|---:|---:|---:|---:|');
const pipeline = backups[0].seconds;
const handMade = backups[3].seconds;
for (const b of backups) console.log(`| ${b.label} | ${s(b.seconds)} | ${mib(b.bytes)} | ${b.rssMb.toFixed(0)} | ${ratio(b.seconds, pipeline)} | ${ratio(b.seconds, handMade)} |`);

console.log(`\n### Parallel logical restore (same database and backups)\n`);
console.log('| tool | wall s | of which pg_restore (+ staging) s | checks s | peak RSS MiB | restore vs pg_restore -j |');
console.log('|---|---:|---:|---:|---:|---:|');
const rawParallel = restores[1].seconds;
for (const r of restores) {
  console.log(`| ${r.label} | ${s(r.seconds)} | ${r.restore !== undefined ? s(r.restore) : s(r.seconds)} | ${r.checks !== undefined ? s(r.checks) : '-'} | ${r.rssMb.toFixed(0)} | ${ratio(r.restore ?? r.seconds, rawParallel)} |`);
}

console.log(`\n### Repository size per codec (lifeline backup, serial, default levels)\n`);
console.log('| codec | wall s | stored MiB | ratio plain/stored (manifest) | size vs none | time vs zstd |');
console.log('|---|---:|---:|---:|---:|---:|');
const none = codecs.find((c) => c.spec === 'none');
const zstd = codecs.find((c) => c.spec.startsWith('zstd'));
for (const c of codecs) console.log(`| ${c.spec} | ${s(c.seconds)} | ${mib(c.bytes)} | ${c.ratio?.toFixed(2) ?? '-'} | ${ratio(c.bytes, none.bytes)} | ${ratio(c.seconds, zstd.seconds)} |`);
