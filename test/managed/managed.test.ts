import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { privilegeGaps } from '../../src/engine/backup/preflight.js';
import { dumpGlobals } from '../../src/engine/backup/globals.js';
import { targetScope } from '../../src/config/presets.js';
import { runCli, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';
import { APP_PASSWORD, managedShape, type ManagedShape } from './fixture.js';
import { startTxPooler, type TxPooler } from './tx-pooler.js';

// The CLI tests run bin/lifeline.js: `npm run build` first.
let pg: TestCluster;
let shape: ManagedShape;
let home: TempHome;
let pooler: TxPooler;

beforeAll(async () => {
  pg = await startTestCluster();
  shape = await managedShape(pg);
  home = await tempHome();
  pooler = await startTxPooler({ upstreamHost: '127.0.0.1', upstreamPort: pg.port, password: () => APP_PASSWORD });
});
afterAll(async () => {
  await pooler?.close();
  await home?.cleanup();
  await pg?.cleanup();
});

const backups = () => {
  const dir = path.join(home.home, 'data', 'repository', 'backups');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
};

function configureTarget(target: Record<string, unknown>) {
  const dir = path.join(home.home, 'config');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ targets: { app: target } }));
}

describe('privilege preflight', () => {
  it('names every object the role cannot read, before pg_dump starts', async () => {
    const gaps = await withClient(shape.reader, (c) => privilegeGaps(c));
    expect(gaps).toEqual(
      expect.arrayContaining([
        { kind: 'schema-usage', object: 'auth' },
        { kind: 'schema-usage', object: 'realtime' },
        { kind: 'select', object: 'auth.users' },
        { kind: 'select', object: 'storage.buckets' },
        { kind: 'row-security', object: 'storage.objects' },
      ]),
    );
    expect(gaps.map((g) => g.object)).not.toContain('public.todos');
    // Within the scope it can read, nothing is missing.
    expect(await withClient(shape.reader, (c) => privilegeGaps(c, targetScope({ include: { schemas: ['public'] } })))).toEqual([]);
  });

  it('backup as a role without the grants fails at once with the GRANTs to ask for, and keeps nothing', async () => {
    const before = backups().length;
    const result = await runCli(['--db', shape.readerUrl, 'backup'], { env: home.env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Role "reader" cannot read everything the backup needs');
    expect(result.stderr).toContain('no USAGE on schema auth, realtime;');
    expect(result.stderr).toMatch(/row-level security hides rows of storage\.objects/);
    expect(result.stderr).toContain('GRANT USAGE ON SCHEMA "realtime" TO "reader";');
    expect(result.stderr).toContain('ALTER ROLE "reader" BYPASSRLS;');
    expect(result.stderr).not.toMatch(/pg_dump failed|at .*\.js:\d+/);
    expect(backups().length).toBe(before);
  });

  it('the application role without a preset is stopped at the platform schema it cannot read', async () => {
    const result = await runCli(['--db', shape.appUrl, 'backup'], { env: home.env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/no USAGE on schema realtime; no SELECT on realtime\.subscription/);
    expect(result.stderr).toContain('preset: supabase');
  });
});

describe('roles and globals', () => {
  it('rebuilds roles and memberships from the catalogs where pg_dumpall is not allowed, without passwords', async () => {
    await withClient(pg.conn('postgres'), (c) => c.query('GRANT authenticated TO app'));
    const { sql, method } = await withClient(shape.app, (c) => dumpGlobals(c, { conn: shape.app, major: pg.major, method: 'catalog' }));
    expect(method).toBe('catalog');
    expect(sql).toContain('CREATE ROLE "app";');
    expect(sql).toMatch(/ALTER ROLE "app" WITH NOSUPERUSER INHERIT NOCREATEROLE CREATEDB LOGIN NOREPLICATION BYPASSRLS;/);
    expect(sql).toMatch(/GRANT "authenticated" TO "app"( GRANTED BY "postgres")?;/);
    expect(sql).not.toMatch(/pg_read_all_data|PASSWORD|SCRAM/);
  });
});

describe('poolers', () => {
  it('backup through a transaction-mode pooler is refused with the direct/session hint', async () => {
    const result = await runCli(['--db', pooler.url('app', 'appdb'), 'backup'], { env: home.env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/looks like a transaction-mode pooler/);
    expect(result.stderr).toMatch(/direct connection string/);
  });
});

describe('supabase preset', () => {
  let id: string;

  it('backs up as the application role: every user row, the platform schemas skipped', async () => {
    configureTarget({ url: shape.appUrl, preset: 'supabase' });
    const result = await runCli(['--json', 'backup', '--verify', 'archive'], { env: home.env });
    expect(result.stderr).not.toContain('internal error');
    expect(result.exitCode, result.stderr).toBe(0);
    const { backup: manifest, verification } = JSON.parse(result.stdout);
    expect(verification).toMatchObject({ ok: true });
    id = manifest.id;
    const rows = Object.fromEntries(manifest.tables.map((t: { schema: string; table: string; rows: number }) => [`${t.schema}.${t.table}`, t.rows]));
    const live = await shape.counts();
    expect(rows).toEqual({
      'auth.schema_migrations': 2,
      'auth.users': live['auth.users'],
      'auth.identities': live['auth.identities'],
      'storage.buckets': live['storage.buckets'],
      'storage.objects': live['storage.objects'],
      'public.profiles': live['public.profiles'],
      'public.todos': live['public.todos'],
    });
    expect(manifest.extra.scope.excludeSchemas).toContain('realtime');
    // The extensions a restore must create first: citext lives in the skipped `extensions` schema.
    expect(manifest.extra).toMatchObject({ preset: 'supabase', extensions: [{ name: 'citext', schema: 'extensions', version: expect.any(String) }] });
    // The roles the objects' GRANTs name, without passwords, listed with size and sha256.
    const globals = manifest.objects.find((o: { name: string }) => o.name === 'globals.sql');
    const text = fs.readFileSync(path.join(home.home, 'data', 'repository', 'backups', id, 'globals.sql'));
    expect(globals).toEqual({ name: 'globals.sql', size: text.length, sha256: crypto.createHash('sha256').update(text).digest('hex') });
    expect(String(text)).toMatch(/CREATE ROLE (app|"app");/);
    expect(String(text)).toMatch(/GRANT|ALTER ROLE/);
    expect(String(text)).not.toMatch(/SCRAM-SHA-256|PASSWORD/i);
  });

  it('a runbook backup step takes the same scope and records the preset, like `lifeline backup`', async () => {
    const result = await runCli(['--json', 'run', 'pre-deploy-backup', '--plain', '--yes', '--param', 'reason=release 4.2'], { env: home.env, timeoutMs: 120_000 });
    expect(result.stderr).not.toContain('internal error');
    expect(result.exitCode, result.stderr).toBe(0);
    const newest = backups().sort().at(-1)!;
    expect(newest).toMatch(/pre-deploy$/);
    const manifest = JSON.parse(fs.readFileSync(path.join(home.home, 'data', 'repository', 'backups', newest, 'manifest.json'), 'utf8'));
    expect(manifest.extra.preset).toBe('supabase');
    expect(manifest.extra.scope).toEqual(targetScope({ url: shape.appUrl, preset: 'supabase' }));
    expect(manifest.tables.map((t: { schema: string }) => t.schema)).not.toContain('realtime');
  });

  // Policies name platform roles ("authenticated"): verify creates the backup's roles (globals.sql)
  // in the disposable cluster before restoring.
  it('verifies at the consistency level: restored in a sandbox, every table count and fingerprint equal', async () => {
    const result = await runCli(['--json', 'verify', id, '--level', 'consistency'], { env: home.env });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).verification).toMatchObject({ ok: true, passedLevel: 'consistency' });
  });

  it('restores --into a new database as the application role, without the platform owners, creating the extension first', async () => {
    const result = await runCli(['--db', shape.appUrl, 'restore', id, '--into', 'appdb_restored', '--yes'], { env: home.env });
    expect(result.stderr).not.toContain('internal error');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/create extension citext in schema extensions first/);
    const live = await shape.counts();
    const restored = await shape.counts('appdb_restored');
    expect(restored).toEqual({ ...live, 'auth.sessions': 0 });
    await withClient(pg.conn('appdb_restored'), async (c) => {
      const owners = await c.query<{ nspname: string; owner: string }>(
        `SELECT nspname, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname IN ('auth', 'storage', 'realtime') ORDER BY 1`,
      );
      // auth and storage come back owned by the restoring role; realtime is the platform's to recreate.
      expect(owners.rows).toEqual([
        { nspname: 'auth', owner: 'app' },
        { nspname: 'storage', owner: 'app' },
      ]);
    });
  });

  it('restore through a transaction-mode pooler is refused before anything is touched', async () => {
    const result = await runCli(['--db', pooler.url('app', 'appdb'), 'restore', id, '--into', 'appdb_pooled', '--yes'], { env: home.env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/looks like a transaction-mode pooler/);
    const exists = await withClient(pg.conn('postgres'), (c) => c.query(`SELECT 1 FROM pg_database WHERE datname = 'appdb_pooled'`));
    expect(exists.rowCount).toBe(0);
  });
});
