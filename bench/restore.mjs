// Restore: `lifeline restore --into` vs raw pg_restore of the same dump into a fresh database,
// same run, same jobs, and vs the same work done by hand with stock tools (by-hand-restore.sh:
// sha256 check, createdb, pg_restore, ANALYZE, the recorded fingerprints). Reports the ratio for
// the restore itself and what the checks add.
// Usage: node bench/restore.mjs   (BENCH_RESTORE_MB=200 BENCH_JOBS=1 BENCH_REPEAT=1)
import { execa } from 'execa';
import os from 'node:os';
import path from 'node:path';
import { benchCluster, benchFile, cli, fingerprintScript, lifelineRestore, mib, pgEnv, randomTextDatabase, ratio, timed } from './lib.mjs';
import { describeConn } from '../dist/postgres/conninfo.js';
import { withClient } from '../dist/postgres/client.js';

const mb = Number(process.env.BENCH_RESTORE_MB ?? 200);
const jobs = Number(process.env.BENCH_JOBS ?? 1);
const repeat = Number(process.env.BENCH_REPEAT ?? 1);

async function dropDatabase(cluster, name) {
  await withClient(cluster.conn('postgres'), (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}
async function createDatabase(cluster, name) {
  await dropDatabase(cluster, name);
  await withClient(cluster.conn('postgres'), (c) => c.query(`CREATE DATABASE "${name}" TEMPLATE template0`));
}

const bench = await benchCluster();
const runs = [];
let size = 0;
let stored = 0;
try {
  process.stderr.write(`building a ${mb} MB random-text database...\n`);
  const source = await randomTextDatabase(bench.cluster, 'bench_restore_src', mb);
  size = source.size;
  const home = path.join(bench.dir, 'home');
  const env = { ...process.env, LIFELINE_HOME: home, NO_COLOR: '1', LIFELINE_OPERATOR: 'bench' };
  const url = describeConn(source.conn);
  const backup = await timed('lifeline backup', 'node', [cli, '--db', url, '--json', 'backup', '--verify', 'none'], { env });
  const manifest = JSON.parse(backup.stdout).backup;
  const object = manifest.objects[0];
  stored = object.size;
  const storedFile = path.join(home, 'data', 'repository', 'backups', manifest.id, object.name);
  // The same dump, decompressed once, for pg_restore from a file (what -j needs anyway).
  const plainFile = path.join(bench.dir, 'plain.dump');
  await execa('zstd', ['-q', '-d', '-f', storedFile, '-o', plainFile]);
  const pgenv = pgEnv(bench.cluster);
  const jobArgs = jobs > 1 ? [`--jobs=${jobs}`] : [];
  const sql = path.join(bench.dir, 'fingerprints.sql');
  await fingerprintScript(source.conn, sql);
  const fingerprints = path.join(bench.dir, 'fingerprints.out');

  const raw = async (i) => {
    process.stderr.write(`run ${i + 1}/${repeat}: raw pg_restore\n`);
    await createDatabase(bench.cluster, 'raw_file');
    const file = await timed('pg_restore -d (file)', bench.tools.pg_restore, ['--exit-on-error', ...jobArgs, '-d', 'raw_file', plainFile], { env: pgenv });
    await dropDatabase(bench.cluster, 'raw_file');
    if (jobs > 1) return { file };
    await createDatabase(bench.cluster, 'raw_pipe');
    const pipe = await timed('zstd -dc | pg_restore -d', 'bash', ['-c', 'set -o pipefail; zstd -q -dc "$1" | "$2" --exit-on-error -d raw_pipe', '_', storedFile, bench.tools.pg_restore], { env: pgenv });
    await dropDatabase(bench.cluster, 'raw_pipe');
    await dropDatabase(bench.cluster, 'by_hand');
    const byHand = await timed('by hand', benchFile('by-hand-restore.sh'), [path.dirname(bench.tools.pg_restore), storedFile, object.sha256, 'by_hand', sql, fingerprints], { env: pgenv });
    await dropDatabase(bench.cluster, 'by_hand');
    return { file, pipe, byHand };
  };
  const viaLifeline = async (i) => {
    process.stderr.write(`run ${i + 1}/${repeat}: lifeline restore --into\n`);
    const result = await lifelineRestore(['--db', url, 'restore', manifest.id, '--into', 'via_lifeline', '--jobs', String(jobs), '--yes'], env);
    await dropDatabase(bench.cluster, 'via_lifeline');
    return result;
  };
  for (let i = 0; i < repeat; i++) {
    // Alternate the order so neither side always runs on the warmer cache.
    if (i % 2 === 0) {
      const r = await raw(i);
      runs.push({ ...r, lifeline: await viaLifeline(i) });
    } else {
      const lifeline = await viaLifeline(i);
      runs.push({ ...(await raw(i)), lifeline });
    }
  }
} finally {
  await bench.cleanup();
}

const s = (x) => x.toFixed(2);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const baseline = (r) => (r.pipe ?? r.file).seconds;
const baseName = jobs === 1 ? 'zstd -dc | pg_restore' : `pg_restore -j${jobs} (file)`;

console.log(`\n### Restore (${mib(size)} MiB database, ${mib(stored)} MiB stored zstd, --jobs ${jobs}, ${repeat} run(s), ${new Date().toISOString().slice(0, 10)}, load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs)\n`);
console.log(`| run | pg_restore (file) s | ${jobs === 1 ? 'zstd -dc \\| pg_restore s | same work by hand s | ' : ''}lifeline pg_restore phase s | ratio vs ${baseName.replace('|', '\\|')} | integrity pre-read s | ANALYZE s | verify s | start-up s | lifeline total s | ${jobs === 1 ? 'total vs by hand | ' : ''}peak RSS MiB |`);
console.log(`|---:|---:|${jobs === 1 ? '---:|---:|' : ''}---:|---:|---:|---:|---:|---:|---:|${jobs === 1 ? '---:|' : ''}---:|`);
runs.forEach((r, i) => {
  const l = r.lifeline;
  console.log(
    `| ${i + 1} | ${s(r.file.seconds)} | ${r.pipe ? `${s(r.pipe.seconds)} | ${s(r.byHand.seconds)} | ` : ''}${s(l.restore)} | ${ratio(l.restore, baseline(r))} | ${s(l.integrity)} | ${s(l.analyze)} | ${s(l.verify)} | ${s(l.startup)} | ${s(l.total)} | ${r.byHand ? `${ratio(l.total, r.byHand.seconds)} | ` : ''}${l.rssMb.toFixed(0)} |`,
  );
});
const restoreRatio = median(runs.map((r) => r.lifeline.restore / baseline(r)));
const overhead = median(runs.map((r) => (r.lifeline.integrity + r.lifeline.verify) / r.lifeline.restore));
const totalRatio = median(runs.map((r) => r.lifeline.total / baseline(r)));
console.log(`\nmedian ratio, restore itself (lifeline pg_restore phase / ${baseName}): ${restoreRatio.toFixed(2)} (goal <= 1.05)`);
console.log(`median verification overhead (integrity pre-read + post-restore verify) / restore itself: ${(100 * overhead).toFixed(0)}%`);
console.log(`median ratio, whole command (incl. start-up, ANALYZE, checks) / ${baseName}: ${totalRatio.toFixed(2)}`);
if (jobs === 1) console.log(`median ratio, whole command / the same work by hand: ${median(runs.map((r) => r.lifeline.total / r.byHand.seconds)).toFixed(2)}`);
