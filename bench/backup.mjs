// Logical backup: lifeline vs plain `pg_dump -Fc` vs the hand-made pipeline of the same compression
// (bare; with sha256 + fsync; and doing all of lifeline's work by hand: by-hand-backup.sh).
// Usage: npm run bench   (BENCH_SIZES_MB=256,1024 BENCH_ZSTD_LEVEL=3 BENCH_REPEAT=1)
// With BENCH_REPEAT=n the pipelines and lifeline run n times, interleaved, and the median run counts.
import fs from 'node:fs';
import path from 'node:path';
import { benchCluster, benchFile, cli, fileSize, fingerprintScript, mib, pgEnv, randomTextDatabase, ratio, timed } from './lib.mjs';
import { describeConn } from '../dist/postgres/conninfo.js';

const sizes = (process.env.BENCH_SIZES_MB ?? '256,1024').split(',').map(Number);
const level = Number(process.env.BENCH_ZSTD_LEVEL ?? 3);
const repeat = Math.max(1, Number(process.env.BENCH_REPEAT ?? 1));
/** The run with the median wall time. */
const median = (runs) => [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor((runs.length - 1) / 2)];

const byHand = benchFile('by-hand-backup.sh');

const bench = await benchCluster();
const rows = [];
try {
  for (const mb of sizes) {
    process.stderr.write(`building a ${mb} MB random-text database...\n`);
    const { conn, size } = await randomTextDatabase(bench.cluster, `bench_${mb}`, mb);
    const out = path.join(bench.dir, `out-${mb}`);
    fs.mkdirSync(out);
    const env = pgEnv(bench.cluster);
    const db = conn.database;

    const plain = await timed('pg_dump -Fc > file', bench.tools.pg_dump, ['-Fc', '-f', path.join(out, 'plain.dump'), db], { env });
    const home = path.join(out, 'home');
    const lifelineEnv = { ...process.env, LIFELINE_HOME: home, NO_COLOR: '1' };
    await timed('config', 'node', [cli, 'config', 'set', 'backup.compressionLevel', String(level)], { env: lifelineEnv });
    const url = describeConn(conn);
    const sql = path.join(out, 'fingerprints.sql');
    await fingerprintScript(conn, sql);
    const runs = { pipeline: [], durable: [], byHand: [], lifeline: [] };
    for (let i = 0; i < repeat; i++) {
      runs.pipeline.push(await timed(`pg_dump -Fc -Z0 \\| zstd -T0 -${level}`, 'bash', ['-c', `"$1" -Fc -Z0 "$2" | zstd -q -T0 -${level} > "$3"`, '_', bench.tools.pg_dump, db, path.join(out, 'pipe.dump.zst')], { env }));
      // What a backup tool must do beyond the raw pipe: hash what it stores and fsync it.
      runs.durable.push(await timed(`same + sha256 + fsync`, 'bash', ['-c', `"$1" -Fc -Z0 "$2" | zstd -q -T0 -${level} | tee "$3" | openssl dgst -sha256 > /dev/null && sync "$3"`, '_', bench.tools.pg_dump, db, path.join(out, 'durable.dump.zst')], { env }));
      runs.byHand.push(await timed('same work by hand (snapshot, fingerprints, sha256, fsync)', byHand, [path.dirname(bench.tools.pg_dump), db, path.join(out, 'by-hand'), String(level), sql], { env }));
      const run = await timed('lifeline backup (no verify)', 'node', [cli, '--db', url, '--json', 'backup', '--verify', 'none'], { env: lifelineEnv });
      runs.lifeline.push(run);
      // The pipelines overwrite one file, reusing its blocks; lifeline's next backup may reuse
      // this one's. Kept, each backup would land on blocks never written before, which costs
      // more on a thin-provisioned virtual disk (+0.5 s at 1 GiB here) and is not lifeline's doing.
      fs.rmSync(path.join(home, 'data', 'repository', 'backups', JSON.parse(run.stdout).backup.id), { recursive: true, force: true });
    }
    const [pipeline, durable, byHandRun, lifeline] = [median(runs.pipeline), median(runs.durable), median(runs.byHand), median(runs.lifeline)];
    const manifest = JSON.parse(lifeline.stdout).backup;
    const stored = manifest.objects[0].size;
    const verified = await timed('lifeline backup (defaults: + verify archive)', 'node', [cli, '--db', url, 'backup'], { env: lifelineEnv });

    rows.push({ mb, size, durable, byHand: byHandRun, plain, plainSize: fileSize(path.join(out, 'plain.dump')), pipeline, pipeSize: fileSize(path.join(out, 'pipe.dump.zst')), lifeline, stored, verified });
    fs.rmSync(out, { recursive: true, force: true });
  }
} finally {
  await bench.cleanup();
}

console.log(`\n### Logical backup (zstd -${level}, ${new Date().toISOString().slice(0, 10)}, ${process.env.HOSTNAME ?? 'this machine'}${repeat > 1 ? `, median of ${repeat} interleaved runs` : ''})\n`);
console.log('| database | tool | wall s | stored MiB | peak RSS MiB | time vs pg_dump -Fc | time vs pipeline | time vs by hand | size vs pg_dump -Fc |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const db = `${mib(r.size)} MiB`;
  const line = (run, storedBytes, label = run.label) =>
    console.log(`| ${db} | ${label} | ${run.seconds} | ${mib(storedBytes)} | ${run.rssMb.toFixed(0)} | ${ratio(run.seconds, r.plain.seconds)} | ${ratio(run.seconds, r.pipeline.seconds)} | ${ratio(run.seconds, r.byHand.seconds)} | ${ratio(storedBytes, r.plainSize)} |`);
  line(r.plain, r.plainSize, 'pg_dump -Fc > file');
  line(r.pipeline, r.pipeSize);
  line(r.durable, r.pipeSize);
  line(r.byHand, r.pipeSize);
  line(r.lifeline, r.stored, 'lifeline backup');
  line(r.verified, r.stored, 'lifeline backup + verify archive');
}
