import { execa } from 'execa';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifelineError } from '../../src/errors.js';
import { createCluster, freePort, openCluster } from '../../src/postgres/cluster.js';
import { connect, withClient } from '../../src/postgres/client.js';
import type { ConnInfo } from '../../src/postgres/conninfo.js';
import { toolEnv } from '../../src/postgres/conninfo.js';
import { findTool } from '../../src/postgres/tools.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

const isRoot = process.getuid?.() === 0;

async function scalar(conn: ConnInfo, sql: string): Promise<unknown> {
  return withClient(conn, async (c) => Object.values((await c.query(sql)).rows[0])[0]);
}

async function failure(promise: Promise<unknown>): Promise<LifelineError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LifelineError);
  return error as LifelineError;
}

function occupy(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('a disposable cluster', () => {
  let pg: TestCluster;
  beforeAll(async () => {
    pg = await startTestCluster({ settings: { 'lifeline.test_marker': 'hello' } });
  });
  afterAll(() => pg?.cleanup());

  it('runs, listens on its socket and on 127.0.0.1, and remembers its state', async () => {
    const status = await pg.status();
    expect(status.running).toBe(true);
    expect(status.pid).toBeGreaterThan(0);
    expect(await scalar(pg.conn(), 'SELECT current_setting($$lifeline.test_marker$$)')).toBe('hello');
    expect(await scalar(pg.tcpConn(), 'SELECT inet_server_addr()::text')).toBe('127.0.0.1/32');
    expect(await scalar(pg.conn(), "SELECT current_setting('server_encoding')")).toBe('UTF8');
    expect(fs.existsSync(path.join(pg.socketDir, `.s.PGSQL.${pg.port}`))).toBe(true);
    const state = JSON.parse(fs.readFileSync(path.join(pg.dir, 'cluster.json'), 'utf8'));
    expect(state).toMatchObject({ port: pg.port, socketDir: pg.socketDir, dataDir: pg.dataDir, major: 15 });
    if (isRoot) expect(fs.statSync(pg.dataDir).uid).not.toBe(0);
  });

  it('trusts postgres locally but asks every other role for its password', async () => {
    await withClient(pg.conn(), (c) => c.query("CREATE ROLE someone LOGIN PASSWORD 'right'"));
    expect((await failure(connect({ ...pg.tcpConn(), user: 'someone', password: 'wrong' }))).code).toBe('DB_AUTH');
    expect((await failure(connect({ ...pg.conn(), user: 'someone', password: 'wrong' }))).code).toBe('DB_AUTH');
    expect(await scalar({ ...pg.tcpConn(), user: 'someone', password: 'right' }, 'SELECT current_user')).toBe('someone');
  });

  it('stops, starts again, and is found again by openCluster', async () => {
    await pg.stop();
    expect((await pg.status()).running).toBe(false);
    expect((await failure(connect(pg.conn()))).code).toBe('DB_UNREACHABLE');
    await pg.stop(); // idempotent
    const again = await openCluster(pg.dir);
    expect(again.port).toBe(pg.port);
    await again.start();
    expect((await pg.status()).running).toBe(true);
    expect(await scalar(pg.conn(), 'SELECT 1')).toBe(1);
    await again.start(); // idempotent
  });

  it('applies settings on restart', async () => {
    await pg.configure({ work_mem: '7MB', 'lifeline.quote': "it's" });
    await pg.restart();
    expect(await scalar(pg.conn(), 'SHOW work_mem')).toBe('7MB');
    expect(await scalar(pg.conn(), "SELECT current_setting('lifeline.quote')")).toBe("it's");
  });

  it('moves to another free port when its own was taken while stopped', async () => {
    await pg.stop();
    const oldPort = pg.port;
    const squatter = await occupy(oldPort);
    try {
      await pg.start();
      expect(pg.port).not.toBe(oldPort);
      expect(await scalar(pg.tcpConn(), 'SELECT 1')).toBe(1);
      expect((await openCluster(pg.dir)).port).toBe(pg.port);
    } finally {
      squatter.close();
    }
  });

  it('puts the last log lines in the error when the server cannot start', async () => {
    await pg.stop();
    await pg.configure({ shared_buffers: 'lots' });
    const error = await failure(pg.start());
    expect(error.code).toBe('SANDBOX');
    expect(error.message).toMatch(/shared_buffers/);
    expect(error.hint).toContain(pg.logFile);
    await pg.configure({ shared_buffers: '16MB' });
    await pg.start();
    expect(await scalar(pg.conn(), 'SHOW shared_buffers')).toBe('16MB');
  });

  it('adopts a data directory made elsewhere (a base backup taken as this user)', async () => {
    await withClient(pg.conn(), (c) => c.query("CREATE TABLE adopted_marker AS SELECT 'from the origin' AS note"));
    const copy = path.join(pg.root, 'copy');
    const basebackup = await findTool('pg_basebackup', { major: 15 });
    const result = await execa(basebackup.path, ['-D', copy, '-Fp', '-X', 'fetch', '-c', 'fast'], { env: toolEnv(pg.conn()), reject: false });
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const adopted = await createCluster({ dir: path.join(pg.root, 'adopted'), adoptDataDir: copy, settings: { fsync: false } });
    try {
      expect(adopted.dataDir).toBe(copy);
      expect(adopted.port).not.toBe(pg.port);
      expect(await scalar(adopted.conn(), 'SELECT note FROM adopted_marker')).toBe('from the origin');
      // Its pg_hba.conf is the origin's own (kept), which here trusts postgres too.
      expect(fs.readFileSync(path.join(copy, 'pg_hba.conf'), 'utf8')).toContain('scram-sha-256');
    } finally {
      await adopted.destroy();
    }
    expect(fs.existsSync(copy)).toBe(false);
  });

  it('refuses to create a cluster over an existing one', async () => {
    expect((await failure(createCluster({ dir: pg.dir, start: false }))).code).toBe('SANDBOX');
  });
});

describe('cluster placement', () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
  });

  it('uses a short socket folder for a deep cluster dir, under umask 077, with a fixed port', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-deep-'));
    roots.push(root);
    const dir = path.join(root, 'a-rather-long-folder-name', 'and-another-long-folder-name', 'cluster-with-a-long-name');
    const port = await freePort();
    const previous = process.umask(0o077);
    let cluster;
    try {
      cluster = await createCluster({ dir, port, settings: { fsync: false } });
    } finally {
      process.umask(previous);
    }
    try {
      expect(cluster.port).toBe(port);
      expect(cluster.socketDir.startsWith(dir)).toBe(false);
      expect(Buffer.byteLength(`${cluster.socketDir}/.s.PGSQL.${port}`)).toBeLessThan(107);
      expect(await scalar(cluster.conn(), 'SELECT 1')).toBe(1);
      if (isRoot) {
        // Only the search bit was added on our own folders, nothing else.
        expect(fs.statSync(root).mode & 0o777).toBe(0o701);
        expect(fs.statSync(path.dirname(dir)).mode & 0o777).toBe(0o701);
      }
      // A fixed port that is taken is an error with a hint, not a silent move.
      await cluster.stop();
      const squatter = await occupy(port);
      try {
        const error = await failure(cluster.start());
        expect(error.hint).toMatch(new RegExp(`Port ${port}`));
      } finally {
        squatter.close();
      }
    } finally {
      const socketDir = cluster.socketDir;
      await cluster.destroy();
      expect(fs.existsSync(dir)).toBe(false);
      expect(fs.existsSync(socketDir)).toBe(false);
    }
  });

  it.runIf(isRoot)('refuses a cluster dir the postgres user cannot reach and we do not own', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-foreign-'));
    roots.push(root);
    const foreign = path.join(root, 'foreign');
    fs.mkdirSync(foreign, { mode: 0o700 });
    fs.chmodSync(foreign, 0o700);
    fs.chownSync(foreign, 65534, 65534); // nobody
    const error = await failure(createCluster({ dir: path.join(foreign, 'cluster'), start: false }));
    expect(error.code).toBe('SANDBOX');
    expect(error.message).toContain(foreign);
    expect(error.hint).toMatch(/chmod o\+x/);
  });
});
