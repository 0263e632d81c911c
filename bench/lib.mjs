// Shared bench helpers: a disposable cluster, a random-text database, and timed commands.
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createCluster } from '../dist/postgres/cluster.js';
import { withClient } from '../dist/postgres/client.js';
import { findTool } from '../dist/postgres/tools.js';
import { dumpedTables, fingerprintSql, qualified, tableColumns } from '../dist/engine/backup/fingerprint.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const cli = path.join(root, 'bin/lifeline.js');

export async function benchCluster() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-bench-'));
  const cluster = await createCluster({ dir, settings: { shared_buffers: '256MB', max_wal_size: '4GB', checkpoint_timeout: '30min' } });
  const tools = {
    pg_dump: (await findTool('pg_dump', { major: cluster.major })).path,
    pg_restore: (await findTool('pg_restore', { major: cluster.major })).path,
  };
  return { dir, cluster, tools, async cleanup() { await cluster.destroy(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

/**
 * A database of about `mb` megabytes that does not compress trivially: random hex text in wide
 * rows (split over `tables` tables: notes, notes_2, ..., for benchmarks of parallel jobs) plus a
 * narrow table with numbers, generated server-side in batches.
 */
export async function randomTextDatabase(cluster, name, mb, { tables = 1 } = {}) {
  await withClient(cluster.conn('postgres'), (c) => c.query(`DROP DATABASE IF EXISTS "${name}"`).then(() => c.query(`CREATE DATABASE "${name}"`)));
  const conn = cluster.conn(name);
  const rowsPerMb = 3000; // ~330 bytes of hex per row
  const total = mb * rowsPerMb;
  await withClient(conn, async (c) => {
    for (let t = 1; t <= tables; t++) {
      const table = t === 1 ? 'notes' : `notes_${t}`;
      const rows = Math.floor(total / tables);
      await c.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, author int NOT NULL, body text NOT NULL)`);
      const batch = 300_000;
      for (let start = 1; start <= rows; start += batch) {
        const end = Math.min(rows, start + batch - 1);
        await c.query(
          `INSERT INTO ${table} SELECT g, (random() * 10000)::int, ${Array(10).fill('md5(random()::text)').join(' || ')} FROM generate_series(${start}, ${end}) g`,
        );
      }
    }
    await c.query('CREATE TABLE events (id bigint PRIMARY KEY, kind smallint, amount numeric(12,2), at timestamptz)');
    await c.query(`INSERT INTO events SELECT g, (random() * 20)::int, round((random() * 1000)::numeric, 2), now() - g * interval '1 second' FROM generate_series(1, ${total / 10}) g`);
    await c.query('VACUUM ANALYZE');
  });
  const size = await withClient(conn, async (c) => Number((await c.query('SELECT pg_database_size(current_database()) AS s')).rows[0].s));
  return { conn, size };
}

/** Runs a command under GNU time: wall seconds and peak RSS (largest process of the tree). */
export async function timed(label, file, args, options = {}) {
  const result = await execa('/usr/bin/time', ['-f', '%e %M', file, ...args], { reject: false, all: false, ...options });
  const last = result.stderr.trim().split('\n').pop();
  const [seconds, kb] = last.split(' ').map(Number);
  if (result.exitCode !== 0) throw new Error(`${label} failed (${result.exitCode}): ${result.stderr.slice(-800)}`);
  return { label, seconds, rssMb: kb / 1024, stdout: result.stdout };
}

/** The per-table counts and fingerprints lifeline records and checks, as SQL for psql. */
export async function fingerprintScript(conn, file) {
  await withClient(conn, async (c) => {
    const tables = await dumpedTables(c);
    const columns = await tableColumns(c, tables);
    fs.writeFileSync(file, tables.map((t) => `${fingerprintSql(qualified(t), 'c64', columns.get(`${t.schema}.${t.table}`))};\n`).join(''));
  });
}

/** A bench script's sibling file (the by-hand shell scripts). */
export const benchFile = (name) => path.join(root, 'bench', name);

export const fileSize = (file) => fs.statSync(file).size;
export const mib = (bytes) => (bytes / 1024 / 1024).toFixed(0);
export const ratio = (a, b) => (a / b).toFixed(2);

export function pgEnv(cluster) {
  return { ...process.env, PGHOST: cluster.socketDir, PGPORT: String(cluster.port), PGUSER: 'postgres' };
}

/**
 * Runs lifeline under GNU time and timestamps its progress lines, so the restore proper
 * (pg_restore) can be told apart from the integrity pre-read, ANALYZE and the verification.
 */
export async function lifelineRestore(args, env) {
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
