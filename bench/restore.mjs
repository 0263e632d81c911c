// Restore: `lifeline restore --into` vs raw pg_restore of the same dump into a fresh database,
// same run, same jobs. Reports the ratio for the restore itself and what verification adds.
// Usage: node bench/restore.mjs   (BENCH_RESTORE_MB=200 BENCH_JOBS=1 BENCH_REPEAT=1)
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { benchCluster, cli, mib, pgEnv, randomTextDatabase, ratio, timed } from './lib.mjs';
import { describeConn } from '../dist/postgres/conninfo.js';
import { withClient } from '../dist/postgres/client.js';

const mb = Number(process.env.BENCH_RESTORE_MB ?? 200);
const jobs = Number(process.env.BENCH_JOBS ?? 1);
const repeat = Number(process.env.BENCH_REPEAT ?? 1);

/**
 * Runs lifeline under GNU time and timestamps its progress lines, so the restore proper
 * (pg_restore) can be told apart from the integrity pre-read, ANALYZE and the verification.
 */
async function lifelineRestore(args, env) {
  const started = performance.now();
  const child = execa('/usr/bin/time', ['-f', '%e %M', 'node', cli, ...args], { env, reject: false, buffer: { stderr: false }, stderr: 'pipe' });
  const marks = {};
  let last = '';
  readline.createInterface({ input: child.stderr }).on('line', (line) => {
    const at = (performance.now() - started) / 1000;
    last = line;
    if (/^checking backup/.test(line)) marks.integrity ??= at;
    else if (/^restoring \S+ into new database/.test(line)) marks.restore ??= at;
    else if (/^ANALYZE /.test(line)) marks.analyze ??= at;
    else if (/^verifying restored rows/.test(line)) marks.verify ??= at;
    else if (/^error:/.test(line)) marks.error = line;
  });
  const result = await child;
  const end = (performance.now() - started) / 1000;
  if (result.exitCode !== 0 || marks.error) throw new Error(`lifeline restore failed: ${marks.error ?? last}`);
  const [, kb] = last.split(' ').map(Number);
  return {
    total: end,
    startup: marks.integrity,
    integrity: marks.restore - marks.integrity,
    restore: marks.analyze - marks.restore,
    analyze: marks.verify - marks.analyze,
    verify: end - marks.verify,
    rssMb: kb / 1024,
  };
}

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

  for (let i = 0; i < repeat; i++) {
    process.stderr.write(`run ${i + 1}/${repeat}: raw pg_restore from the file\n`);
    await createDatabase(bench.cluster, 'raw_file');
    const rawFile = await timed('pg_restore -d (file)', bench.tools.pg_restore, ['--exit-on-error', ...jobArgs, '-d', 'raw_file', plainFile], { env: pgenv });
    await dropDatabase(bench.cluster, 'raw_file');

    let rawPipe;
    if (jobs === 1) {
      process.stderr.write(`run ${i + 1}/${repeat}: zstd -dc | pg_restore\n`);
      await createDatabase(bench.cluster, 'raw_pipe');
      rawPipe = await timed('zstd -dc | pg_restore -d', 'bash', ['-c', 'zstd -q -dc "$1" | "$2" --exit-on-error -d raw_pipe', '_', storedFile, bench.tools.pg_restore], { env: pgenv });
      await dropDatabase(bench.cluster, 'raw_pipe');
    }

    process.stderr.write(`run ${i + 1}/${repeat}: lifeline restore --into\n`);
    const lifeline = await lifelineRestore(['--db', url, 'restore', manifest.id, '--into', 'via_lifeline', '--jobs', String(jobs), '--yes'], env);
    await dropDatabase(bench.cluster, 'via_lifeline');
    runs.push({ rawFile, rawPipe, lifeline });
  }
} finally {
  await bench.cleanup();
}

const best = (values) => Math.min(...values);
const rawFile = best(runs.map((r) => r.rawFile.seconds));
const rawPipe = jobs === 1 ? best(runs.map((r) => r.rawPipe.seconds)) : undefined;
const pick = (key) => best(runs.map((r) => r.lifeline[key]));
const l = { total: pick('total'), startup: pick('startup'), integrity: pick('integrity'), restore: pick('restore'), analyze: pick('analyze'), verify: pick('verify') };
const s = (x) => x.toFixed(2);

console.log(`\n### Restore (${mib(size)} MiB database, ${mib(stored)} MiB stored zstd, --jobs ${jobs}, best of ${repeat}, ${new Date().toISOString().slice(0, 10)})\n`);
console.log('| what | wall s | vs raw pg_restore (file) |' + (rawPipe ? ' vs zstd -dc \\| pg_restore |' : ''));
console.log('|---|---:|---:|' + (rawPipe ? '---:|' : ''));
const row = (label, secs) => console.log(`| ${label} | ${s(secs)} | ${ratio(secs, rawFile)} |` + (rawPipe ? ` ${ratio(secs, rawPipe)} |` : ''));
row('pg_restore -d from the decompressed file', rawFile);
if (rawPipe) row('zstd -dc stored \\| pg_restore -d', rawPipe);
row('lifeline: restore proper (pg_restore phase)', l.restore);
row('lifeline: integrity pre-read (size + sha256)', l.integrity);
row('lifeline: ANALYZE', l.analyze);
row('lifeline: verify (fingerprints, keys, indexes)', l.verify);
row('lifeline: start-up (node, config, connect, plan)', l.startup);
row('lifeline restore --into, total', l.total);
console.log(`\nverification overhead (integrity + verify): ${s(l.integrity + l.verify)} s = ${((100 * (l.integrity + l.verify)) / l.restore).toFixed(0)}% of the restore proper; ANALYZE adds ${s(l.analyze)} s.`);
