import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeConn, withDatabase, type ConnInfo } from '../../src/postgres/conninfo.js';
import { withClient } from '../../src/postgres/client.js';
import { findTool } from '../../src/postgres/tools.js';
import { dumpedTables, fingerprintTables } from '../../src/engine/backup/fingerprint.js';
import { createDatabase, createRole, runCli, seeded, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';

let pg: TestCluster;
let home: TempHome;
let shop: ConnInfo;
let url: string;

beforeAll(async () => {
  pg = await startTestCluster();
  shop = await seeded(pg, { database: 'shop' });
  url = describeConn(shop);
  home = await tempHome();
});
afterAll(async () => {
  await home?.cleanup();
  await pg?.cleanup();
});

const tableContents = (conn: ConnInfo) =>
  withClient(conn, async (client) => fingerprintTables(client, await dumpedTables(client)));

describe('lifeline backup', () => {
  it('stores a dump that stock zstd + pg_restore restore to the same per-table contents', async () => {
    const result = await runCli(['--db', url, '--json', 'backup', '--label', 'pre-deploy', '--reason', 'release 42'], { env: home.env });
    expect(result.stderr).not.toContain('internal error');
    expect(result.exitCode).toBe(0);
    const { backup: manifest, verification } = JSON.parse(result.stdout);
    expect(manifest.id).toMatch(/^\d{8}T\d{6}Z-pre-deploy$/);
    expect(manifest).toMatchObject({ kind: 'logical', label: 'pre-deploy', reason: 'release 42', database: 'shop' });
    expect(manifest.systemIdentifier).toMatch(/^\d+$/);
    expect(verification).toMatchObject({ ok: true, passedLevel: 'archive' });

    const repo = path.join(home.home, 'data', 'repository');
    const object = manifest.objects[0];
    const file = path.join(repo, 'backups', manifest.id, object.name);
    const bytes = fs.readFileSync(file);
    expect(bytes.length).toBe(object.size);
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(object.sha256);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(path.join(repo, 'backups', manifest.id, 'manifest.json'))).toBe(true);

    const copy = await createDatabase(pg, 'shop_copy');
    const pgRestore = await findTool('pg_restore', { major: 15 });
    await execa('bash', ['-c', `zstd -dc "$1" | "$2" --no-owner -d "$3" --exit-on-error`, '_', file, pgRestore.path, 'shop_copy'], {
      env: { ...process.env, PGHOST: pg.socketDir, PGPORT: String(pg.port), PGUSER: 'postgres' },
    });
    const original = await tableContents(shop);
    expect(original.map((t) => t.table)).toEqual(['customers', 'order_items', 'orders', 'products']);
    expect(await tableContents(copy)).toEqual(original);
    expect(manifest.tables).toEqual(original);
  });

  it('lists backups newest first with the fields scripts rely on', async () => {
    const second = await runCli(['--db', url, 'backup', '--verify', 'none'], { env: home.env });
    expect(second.exitCode).toBe(0);
    const list = await runCli(['--json', 'list'], { env: home.env });
    expect(list.exitCode).toBe(0);
    const { backups } = JSON.parse(list.stdout);
    expect(backups.length).toBe(2);
    expect(backups[0].label).toBe('daily');
    expect(backups[1]).toMatchObject({ label: 'pre-deploy', reason: 'release 42', kind: 'logical', verifiedLevel: 'archive' });
    for (const b of backups) expect(Object.keys(b)).toEqual(expect.arrayContaining(['id', 'kind', 'label', 'reason', 'startedAt', 'finishedAt', 'sizeBytes', 'verifiedLevel']));
    const plain = await runCli(['list'], { env: home.env });
    expect(plain.stdout.split('\n')[0]).toMatch(/^ID\s+KIND\s+LABEL/);
  });

  it('gives concurrent backups distinct ids when they queue on the lock', async () => {
    const both = await Promise.all([0, 1].map(() => runCli(['--db', url, '--json', 'backup', '--verify', 'none', '--wait-lock', '60'], { env: home.env })));
    for (const r of both) expect(r.exitCode, r.stderr).toBe(0);
    const ids = both.map((r) => JSON.parse(r.stdout).backup.id);
    expect(new Set(ids).size).toBe(2);
  });

  it.each(['gzip', 'none'])('stores a standard %s stream when configured', async (compression) => {
    const other = await tempHome();
    try {
      await runCli(['config', 'set', 'backup.compression', compression], { env: other.env });
      const r = await runCli(['--db', url, '--json', 'backup'], { env: other.env });
      expect(r.exitCode, r.stderr).toBe(0);
      const { backup, verification } = JSON.parse(r.stdout);
      expect(backup.compression.algorithm).toBe(compression);
      expect(verification.ok).toBe(true);
      const file = path.join(other.home, 'data', 'repository', 'backups', backup.id, backup.objects[0].name);
      const pgRestore = await findTool('pg_restore', { major: 15 });
      const reader = compression === 'gzip' ? 'gzip -dc "$1"' : 'cat "$1"';
      const list = await execa('bash', ['-c', `${reader} | "$2" --list`, '_', file, pgRestore.path]);
      expect(list.stdout).toMatch(/TABLE DATA public orders/);
    } finally {
      await other.cleanup();
    }
  });

  it('refuses bad usage with exit 2', async () => {
    const manual = await runCli(['--db', url, 'backup', '--label', 'manual'], { env: home.env });
    expect(manual.exitCode).toBe(2);
    expect(manual.stderr).toMatch(/manual backup needs a reason/);
    const label = await runCli(['--db', url, 'backup', '--label', 'weekly'], { env: home.env });
    expect(label.exitCode).toBe(2);
    const flag = await runCli(['backup', '--no-such-flag'], { env: home.env });
    expect(flag.exitCode).toBe(2);
  });
});

describe('lifeline backup when something is wrong', () => {
  const expectOneLineError = (stderr: string, pattern: RegExp) => {
    expect(stderr).toMatch(pattern);
    expect(stderr).toMatch(/^hint: /m);
    expect(stderr).not.toMatch(/internal error|\n\s+at /);
  };

  it('says the database is unreachable', async () => {
    const r = await runCli(['--db', 'postgresql://postgres@127.0.0.1:1/shop', 'backup'], { env: home.env });
    expect(r.exitCode).toBe(1);
    expectOneLineError(r.stderr, /error: .*(reach|connect|refused)/i);
  });

  it('says the password is wrong, without printing it', async () => {
    await createRole(pg, 'clerk', 'right-secret');
    const r = await runCli(['--db', `postgresql://clerk:wrong-secret@127.0.0.1:${pg.port}/shop`, 'backup'], { env: home.env });
    expect(r.exitCode).toBe(1);
    expectOneLineError(r.stderr, /password|authentication/i);
    expect(r.stderr + r.stdout).not.toContain('wrong-secret');
  });

  it('says pg_dump is missing or too old', async () => {
    const bin = fs.mkdtempSync(path.join(home.home, 'bin-'));
    const missing = await runCli(['--db', url, 'backup'], { env: { ...home.env, LIFELINE_PG_BINDIR: bin } });
    expect(missing.exitCode).toBe(1);
    expectOneLineError(missing.stderr, /pg_dump/);
    fs.writeFileSync(path.join(bin, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 12.1"\n', { mode: 0o755 });
    const old = await runCli(['--db', url, 'backup'], { env: { ...home.env, LIFELINE_PG_BINDIR: bin } });
    expect(old.exitCode).toBe(1);
    expectOneLineError(old.stderr, /pg_dump.*12/);
  });

  it('fails cleanly when the repository is not writable', async () => {
    const file = path.join(home.home, 'not-a-dir');
    fs.writeFileSync(file, 'x');
    const r = await runCli(['--db', url, '--repo', path.join(file, 'repo'), 'backup'], { env: home.env });
    expect(r.exitCode).toBe(1);
    expectOneLineError(r.stderr, /repository|not-a-dir/i);
  });

  it('gives up on a table lock instead of queueing behind DDL, and records nothing', async () => {
    const other = await tempHome();
    try {
      expect((await runCli(['config', 'set', 'backup.lockWaitTimeoutSeconds', '1'], { env: other.env })).exitCode).toBe(0);
      const r = await withClient(shop, async (client) => {
        await client.query('BEGIN');
        await client.query('LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE');
        try {
          return await runCli(['--db', url, 'backup'], { env: other.env, timeoutMs: 60_000 });
        } finally {
          await client.query('ROLLBACK');
        }
      });
      expect(r.exitCode).toBe(1);
      expectOneLineError(r.stderr, /lock/i);
      const list = await runCli(['--json', 'list'], { env: other.env });
      expect(JSON.parse(list.stdout).backups).toEqual([]);
      const repo = path.join(other.home, 'data', 'repository');
      const leftovers = fs.existsSync(repo) ? fs.readdirSync(repo, { recursive: true }).filter((f) => f !== 'lifeline.json' && f !== 'backups') : [];
      expect(leftovers).toEqual([]);
    } finally {
      await other.cleanup();
    }
  });
});
