import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeConn, type ConnInfo } from '../../src/postgres/conninfo.js';
import { withClient } from '../../src/postgres/client.js';
import { findTool } from '../../src/postgres/tools.js';
import { dumpedTables, fingerprintTables } from '../../src/engine/backup/fingerprint.js';
import { createDatabase, runCli, seeded, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';

let pg: TestCluster;
let home: TempHome;
let shop: ConnInfo;
let url: string;
let pgRestore: string;

beforeAll(async () => {
  pg = await startTestCluster();
  shop = await seeded(pg, { database: 'shop', rows: 5_000 });
  url = describeConn(shop);
  home = await tempHome();
  pgRestore = (await findTool('pg_restore', { major: 15 })).path;
}, 120_000);
afterAll(async () => {
  await home?.cleanup();
  await pg?.cleanup();
});

const pgEnv = () => ({ ...process.env, PGHOST: pg.socketDir, PGPORT: String(pg.port), PGUSER: 'postgres' });
const backupDir = (id: string) => path.join(home.home, 'data', 'repository', 'backups', id);
const tableFacts = (conn: ConnInfo) => withClient(conn, async (client) => fingerprintTables(client, await dumpedTables(client)));

/** How a stock tool reads each codec's stream to stdout. */
const READERS: Record<string, string> = { zstd: 'zstd -dc', lz4: 'lz4 -dc', gzip: 'gzip -dc', none: 'cat' };

describe('lifeline backup --compress', () => {
  it.each([
    ['zstd:5', 'zstd', 5, '.zst'],
    ['lz4', 'lz4', 1, '.lz4'],
    ['gzip:6', 'gzip', 6, '.gz'],
    ['none', 'none', undefined, ''],
  ] as const)('%s: records codec, level and ratio, and the stock tool feeds pg_restore', async (spec, algorithm, level, extension) => {
    const r = await runCli(['--db', url, '--json', 'backup', '--compress', spec], { env: home.env });
    expect(r.exitCode, r.stderr).toBe(0);
    const { backup, verification } = JSON.parse(r.stdout);
    expect(verification.ok).toBe(true);
    expect(backup.compression).toMatchObject({ algorithm, ...(level ? { level } : {}), plainBytes: expect.any(Number) });
    const dump = backup.objects[0];
    expect(dump.name).toBe(`data.dump${extension}`);
    expect(backup.compression.ratio).toBeCloseTo(backup.compression.plainBytes / dump.size, 2);
    if (algorithm === 'none') expect(backup.compression.ratio).toBe(1);
    else expect(backup.compression.ratio).toBeGreaterThan(2);
    const file = path.join(backupDir(backup.id), dump.name);
    const list = await execa('bash', ['-c', `${READERS[algorithm]} "$1" | "$2" --list`, '_', file, pgRestore]);
    expect(list.stdout).toMatch(/TABLE DATA public orders/);
    // The plain size recorded is the size of the dump the stock tool gives back.
    const plain = await execa('bash', ['-c', `${READERS[algorithm]} "$1" | wc -c`, '_', file]);
    expect(Number(plain.stdout.trim())).toBe(backup.compression.plainBytes);
  });

  it('refuses an unknown codec or a level out of range with exit 2', async () => {
    const unknown = await runCli(['--db', url, 'backup', '--compress', 'brotli'], { env: home.env });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown compression "brotli"/);
    const level = await runCli(['--db', url, 'backup', '--compress', 'lz4:13'], { env: home.env });
    expect(level.exitCode).toBe(2);
    expect(level.stderr).toMatch(/lz4 levels go from 1 to 12, not 13/);
  });
});

describe('lifeline backup --jobs 2 --compress: the stored folder restores with stock tools', () => {
  it.each([
    ['zstd', 'for f in "$1"/*.zst; do zstd -q -d --rm "$f"; done'],
    ['lz4', 'for f in "$1"/*.lz4; do lz4 -q -d --rm "$f" "${f%.lz4}"; done'],
    ['gzip', 'true # pg_restore reads the .gz files itself'],
    ['none', 'true'],
  ])('%s', async (codec, recipe) => {
    const r = await runCli(['--db', url, '--json', 'backup', '--jobs', '2', '--compress', codec], { env: home.env });
    expect(r.exitCode, r.stderr).toBe(0);
    const { backup, verification } = JSON.parse(r.stdout);
    // The default verification (archive) stages the folder and reads every file with pg_restore.
    expect(verification).toMatchObject({ ok: true, passedLevel: 'archive' });
    expect(backup.compression.algorithm).toBe(codec);
    // The recipe in docs/performance.md: download backups/<id>/dump/, decompress, pg_restore -j.
    const copy = path.join(home.home, `download-${codec}`);
    fs.cpSync(path.join(backupDir(backup.id), 'dump'), copy, { recursive: true });
    await execa('bash', ['-c', recipe, '_', copy]);
    const database = `shop_${codec}`;
    await createDatabase(pg, database);
    await execa(pgRestore, ['--exit-on-error', '--jobs=2', '-d', database, copy], { env: pgEnv() });
    expect(await tableFacts(pg.conn(database))).toEqual(backup.tables);
  });
});
