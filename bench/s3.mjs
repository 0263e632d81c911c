// S3 vs local: `lifeline backup` and `lifeline restore --into` of the same database into a local
// repository and into an s3rver bucket on loopback (its own process), same run; then multipart
// upload throughput of S3Store.put against part size and concurrency (queueSize); and the peak RSS of
// a backup through a link slow enough that every part buffer is in use.
// Usage: npm run build && node bench/s3.mjs   (BENCH_S3_MB=200 BENCH_S3_UPLOAD_MB=256 BENCH_REPEAT=1 BENCH_S3_LINK_MB=25)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { benchCluster, cli, mib, randomTextDatabase, ratio, root, timed } from './lib.mjs';
import { describeConn } from '../dist/postgres/conninfo.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const { S3Store } = await import('../dist/storage/s3-store.js');

const mb = Number(process.env.BENCH_S3_MB ?? 200);
const uploadMb = Number(process.env.BENCH_S3_UPLOAD_MB ?? 256);
const repeat = Number(process.env.BENCH_REPEAT ?? 1);
const throttleMb = Number(process.env.BENCH_S3_LINK_MB ?? 25);
const bucket = 'lifeline-bench';

async function startServer(dir) {
  const child = spawn(process.execPath, [path.join(root, 'test/s3/helpers/s3rver-child.mjs'), '0', dir, bucket], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited ${code}`)));
  });
  return { child, endpoint: `http://127.0.0.1:${port}` };
}

/** A TCP relay to the server that sends each connection's uploads at `mbPerSec`. */
function throttledProxy(targetPort, mbPerSec) {
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    upstream.pipe(client);
    const started = Date.now();
    let sent = 0;
    client.on('data', (data) => {
      sent += data.length;
      const ahead = (sent / (mbPerSec * 1e6)) * 1000 - (Date.now() - started);
      const flowing = upstream.write(data);
      if (!flowing || ahead > 0) {
        client.pause();
        if (flowing) setTimeout(() => client.resume(), ahead);
        else upstream.once('drain', () => setTimeout(() => client.resume(), Math.max(0, ahead)));
      }
    });
    client.on('end', () => upstream.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-bench-s3-'));
const bench = await benchCluster();
const server = await startServer(path.join(work, 's3rver'));
const s3Env = {
  ...process.env,
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  AWS_ENDPOINT_URL_S3: server.endpoint,
  LIFELINE_HOME: path.join(work, 'home'),
};
try {
  const { size } = await randomTextDatabase(bench.cluster, 'bench', mb);
  const db = describeConn(bench.cluster.tcpConn('bench'));
  console.log(`database: ${mib(size)} MiB; s3rver on ${server.endpoint}; ${os.cpus().length} cores\n`);

  const rows = [];
  for (let i = 0; i < repeat; i++) {
    for (const [name, repo] of [
      ['local', path.join(work, `repo-${i}`)],
      ['s3', `s3://${bucket}/run-${i}`],
    ]) {
      const backup = await timed(`backup ${name}`, 'node', [cli, '--json', '--db', db, '--repo', repo, 'backup', '--verify', 'none'], { env: s3Env });
      const id = JSON.parse(backup.stdout).backup.id;
      const restore = await timed(`restore ${name}`, 'node', [cli, '--db', db, '--repo', repo, 'restore', id, '--into', `r_${name}_${i}`, '--yes'], { env: s3Env });
      rows.push({ name, backup: backup.seconds, restore: restore.seconds, backupRss: backup.rssMb, restoreRss: restore.rssMb });
    }
  }
  // A slower link fills the pool of part buffers (queueSize in flight, one filling): the peak
  // that loopback, where parts finish as fast as they are cut, never shows.
  const proxy = await throttledProxy(Number(new URL(server.endpoint).port), throttleMb);
  for (let i = 0; i < repeat; i++) {
    const backup = await timed('backup s3 throttled', 'node', [cli, '--json', '--db', db, '--repo', `s3://${bucket}/slow-${i}`, 'backup', '--verify', 'none'], {
      env: { ...s3Env, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${proxy.address().port}` },
    });
    rows.push({ name: 'slow', backup: backup.seconds, backupRss: backup.rssMb });
  }
  proxy.close();
  const avg = (name, field) => rows.filter((r) => r.name === name).reduce((s, r) => s + r[field], 0) / repeat;
  console.log('| operation | local s | S3 (s3rver, loopback) s | S3 / local | peak RSS local / S3 MiB |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const op of ['backup', 'restore']) {
    console.log(`| ${op} | ${avg('local', op).toFixed(2)} | ${avg('s3', op).toFixed(2)} | ${ratio(avg('s3', op), avg('local', op))} | ${avg('local', `${op}Rss`).toFixed(0)} / ${avg('s3', `${op}Rss`).toFixed(0)} |`);
  }
  console.log(`\nbackup to S3 through a link of ${throttleMb} MB/s per connection: ${avg('slow', 'backup').toFixed(2)} s, peak RSS ${avg('slow', 'backupRss').toFixed(0)} MiB`);

  // Multipart throughput: one body of uploadMb, streamed in 1 MiB chunks, per setting.
  const body = randomBytes(uploadMb * 1024 * 1024);
  const chunks = Array.from({ length: uploadMb }, (_, i) => body.subarray(i * 1048576, (i + 1) * 1048576));
  console.log(`\nS3Store.put of ${uploadMb} MiB (multipart through the pooled part buffers; ETag + size checked after):\n`);
  console.log('| part size MiB | queueSize | seconds | MiB/s | part buffers MiB |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const partSizeMb of [5, 8, 16, 64]) {
    for (const queueSize of [1, 4, 8]) {
      const store = new S3Store({ url: `s3://${bucket}/mp`, settings: { endpoint: server.endpoint, partSizeMb, queueSize }, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, env: {} });
      const started = performance.now();
      await store.put(`mp/${partSizeMb}-${queueSize}`, Readable.from(chunks));
      const seconds = (performance.now() - started) / 1000;
      await store.delete([`mp/${partSizeMb}-${queueSize}`]);
      store.destroy();
      console.log(`| ${partSizeMb} | ${queueSize} | ${seconds.toFixed(2)} | ${(uploadMb / seconds).toFixed(0)} | ${partSizeMb * (queueSize + 1)} |`);
    }
  }
} finally {
  server.child.kill('SIGKILL');
  await bench.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
}
