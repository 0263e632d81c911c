import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { sealJson } from '../../src/storage/sealed-json.js';
import { runCli, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';
import { dbUrl } from '../engine/helpers.js';
import { freshProject, managedShape, type ManagedShape } from './fixture.js';

// Restoring a Supabase-shaped backup into a project whose platform already created auth and
// storage: their rows go back data-only into the platform's tables, the application's schemas are
// restored as usual, all as the application role (not superuser). The CLI runs bin/lifeline.js:
// `npm run build` first.
let pg: TestCluster;
let shape: ManagedShape;
let home: TempHome;
let id: string;
let source: Record<string, number>;

const sql = async <T extends Record<string, unknown>>(database: string, text: string) => withClient(pg.conn(database), async (c) => (await c.query<T>(text)).rows);
const restore = (database: string, ...args: string[]) => runCli(['--db', shape.appUrlFor(database), 'restore', id, ...args], { env: home.env });
const manifestFile = () => path.join(home.home, 'data', 'repository', 'backups', id, 'manifest.json');

beforeAll(async () => {
  pg = await startTestCluster();
  shape = await managedShape(pg);
  home = await tempHome();
  // What users add on Supabase: a trigger on auth.users that creates the profile, and a storage
  // policy (made by the table's owner); plus an extension only a superuser may create.
  await withClient(pg.conn('appdb'), (c) =>
    c.query(`
      CREATE EXTENSION pgstattuple SCHEMA extensions;
      SET ROLE app;
      CREATE FUNCTION public.handle_new_user() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
        BEGIN
          INSERT INTO public.profiles (id, display_name) VALUES (NEW.id, split_part(NEW.email, '@', 1)) ON CONFLICT (id) DO NOTHING;
          RETURN NEW;
        END $$;
      CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();
      SET ROLE supabase_admin;
      CREATE POLICY avatars_public ON storage.objects FOR SELECT USING (bucket_id = 'avatars');
      RESET ROLE;
    `),
  );
  fs.mkdirSync(path.join(home.home, 'config'), { recursive: true });
  fs.writeFileSync(path.join(home.home, 'config', 'config.json'), JSON.stringify({ targets: { app: { url: shape.appUrl, preset: 'supabase' } } }));
  const backup = await runCli(['--json', 'backup', '--verify', 'archive'], { env: home.env });
  if (backup.exitCode !== 0) throw new Error(backup.stderr);
  id = JSON.parse(backup.stdout).backup.id;
  source = await shape.counts();
});
afterAll(async () => {
  await home?.cleanup();
  await pg?.cleanup();
});

describe('restore into a fresh Supabase-shaped project', () => {
  it('as the application role: every application row and every auth/storage user row, the platform definitions left alone', async () => {
    await freshProject(pg, 'fresh', 'CREATE EXTENSION pgstattuple SCHEMA extensions;');
    const result = await restore('fresh', '--in-place', '--yes');
    expect(result.stderr).not.toContain('internal error');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/platform schemas auth, storage are the target's own/);
    expect(result.stderr).toMatch(/load rows data-only, parents first: auth\.users, auth\.identities, storage\.buckets, storage\.objects/);
    expect(result.stderr).toMatch(/kept as the target has them \(the platform's own bookkeeping\): auth\.schema_migrations/);
    expect(result.stderr).toMatch(/create after the data: trigger on_auth_user_created on auth\.users/);
    expect(result.stderr).toMatch(/not restored: policy avatars_public on storage\.objects/);
    expect(result.stderr).toMatch(/extension citext: the target has it already/);

    // Every row, and the trigger did not fire while the rows were loaded (no extra profiles).
    expect(await shape.counts('fresh')).toEqual({ ...source, 'auth.sessions': 0 });
    const same = async (table: string, order: string) =>
      expect(await sql('fresh', `SELECT * FROM ${table} ORDER BY ${order}`)).toEqual(await sql('appdb', `SELECT * FROM ${table} ORDER BY ${order}`));
    await same('auth.users', 'id');
    await same('auth.identities', 'id');
    await same('storage.objects', 'id');
    await same('public.profiles', 'id');
    // The platform's bookkeeping and definitions are its own.
    expect(await sql('fresh', 'SELECT version FROM auth.schema_migrations ORDER BY 1')).toEqual([{ version: '20240101' }, { version: '20240201' }, { version: '20250101' }]);
    expect(
      await sql('fresh', `SELECT c.oid::regclass::text AS t, pg_get_userbyid(c.relowner) AS owner FROM pg_class c WHERE c.oid IN ('auth.users'::regclass, 'storage.objects'::regclass, 'public.profiles'::regclass) ORDER BY 1`),
    ).toEqual([
      { t: 'auth.users', owner: 'supabase_admin' },
      { t: 'profiles', owner: 'app' },
      { t: 'storage.objects', owner: 'supabase_admin' },
    ]);
    expect(await sql('fresh', `SELECT policyname FROM pg_policies WHERE schemaname = 'storage' ORDER BY 1`)).toEqual([{ policyname: 'owner_reads' }]);
    // The sequence goes on where the backed-up project left it.
    expect(await sql('fresh', `SELECT last_value FROM auth.identities_id_seq`)).toEqual(await sql('appdb', `SELECT last_value FROM auth.identities_id_seq`));
    // The user's trigger is back and works for new sign-ups.
    await sql('fresh', `INSERT INTO auth.users (email) VALUES ('new@example.com')`);
    expect(await sql('fresh', `SELECT display_name FROM public.profiles p JOIN auth.users u ON u.id = p.id WHERE u.email = 'new@example.com'`)).toEqual([
      { display_name: 'new' },
    ]);
    expect(await sql('fresh', `SELECT count(*)::int AS n FROM public.profiles WHERE handle = 'USER7'`)).toEqual([{ n: 1 }]);
  });

  it('again over the now populated project, under maintenance as the application role: replaced in one transaction, no duplicates', async () => {
    await sql('fresh', `INSERT INTO auth.users (email) VALUES ('later@example.com')`);
    const on = await runCli(['--db', shape.appUrlFor('fresh'), 'maintenance', 'on'], { env: home.env });
    expect(on.exitCode, on.stderr).toBe(0);
    const result = await restore('fresh', '--in-place', '--yes');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/empty first \(same transaction\): storage\.objects, storage\.buckets, auth\.identities, auth\.users/);
    expect(result.stderr).toMatch(/kept as the target has it: function public\.handle_new_user\(\) \(trigger on_auth_user_created on auth\.users depends on it\)/);
    expect(result.stderr).toMatch(/function public\.handle_new_user\(\) does nothing while the rows load/);
    const off = await runCli(['--db', shape.appUrlFor('fresh'), 'maintenance', 'off'], { env: home.env });
    expect(off.exitCode, off.stderr).toBe(0);
    expect(await shape.counts('fresh')).toEqual({ ...source, 'auth.sessions': 0 });
    expect(await sql('fresh', `SELECT count(*)::int AS n FROM auth.users WHERE email LIKE '%@example.com' AND email NOT LIKE 'user%'`)).toEqual([{ n: 0 }]);
    // The trigger function has its own definition back, and works.
    expect((await sql<{ def: string }>('fresh', `SELECT pg_get_functiondef('public.handle_new_user'::regproc) AS def`))[0].def).toMatch(/INSERT INTO public\.profiles/);
    await sql('fresh', `INSERT INTO auth.users (email) VALUES ('after@example.com')`);
    expect(await sql('fresh', `SELECT count(*)::int AS n FROM public.profiles WHERE display_name = 'after'`)).toEqual([{ n: 1 }]);
  });

  it('as a superuser: the same data-only load, with triggers off while the rows load and the owners from the backup', async () => {
    await freshProject(pg, 'fresh_su', 'CREATE EXTENSION pgstattuple SCHEMA extensions;');
    const result = await runCli(['--db', dbUrl(pg, 'fresh_su'), 'restore', id, '--in-place', '--yes'], { env: home.env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/load rows data-only, parents first: auth\.users, auth\.identities/);
    expect(await shape.counts('fresh_su')).toEqual({ ...source, 'auth.sessions': 0 });
    expect(
      await sql('fresh_su', `SELECT c.oid::regclass::text AS t, pg_get_userbyid(c.relowner) AS owner FROM pg_class c WHERE c.oid IN ('auth.users'::regclass, 'public.profiles'::regclass) ORDER BY 1`),
    ).toEqual([
      { t: 'auth.users', owner: 'supabase_admin' },
      { t: 'profiles', owner: 'app' },
    ]);
    expect(await sql('fresh_su', 'SELECT count(*)::int AS n FROM auth.schema_migrations')).toEqual([{ n: 3 }]);
  });

  it('refuses, before anything is touched, when the role cannot write a platform table: names the GRANT', async () => {
    await freshProject(pg, 'locked', 'CREATE EXTENSION pgstattuple SCHEMA extensions; REVOKE INSERT ON auth.identities FROM app;');
    const before = await runCli(['--json', 'list'], { env: home.env });
    const result = await restore('locked', '--in-place', '--yes');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/error: Role "app" cannot load the platform tables' rows: no INSERT on auth\.identities/);
    expect(result.stderr).toMatch(/hint: .*GRANT INSERT ON "auth"\."identities" TO "app";/);
    // Not even the safety backup was taken.
    expect(JSON.parse((await runCli(['--json', 'list'], { env: home.env })).stdout).backups).toHaveLength(JSON.parse(before.stdout).backups.length);
    expect(await sql('locked', `SELECT (SELECT count(*)::int FROM auth.users) AS users, (SELECT count(*)::int FROM pg_tables WHERE schemaname = 'public') AS tables`)).toEqual([
      { users: 0, tables: 0 },
    ]);
  });
});

describe('extensions the backup needs', () => {
  it('an extension the role may not create is named, with what to ask for, before a database is created', async () => {
    const result = await runCli(['--db', shape.appUrl, 'restore', id, '--into', 'appdb_side', '--yes'], { env: home.env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/error: Role "app" may not create extension\(s\) pgstattuple [\d.]+ \(schema extensions\): they are not marked trusted/);
    expect(result.stderr).toMatch(/hint: .*CREATE EXTENSION IF NOT EXISTS "pgstattuple" SCHEMA "extensions" CASCADE;/);
    expect(await sql('postgres', `SELECT datname FROM pg_database WHERE datname = 'appdb_side'`)).toEqual([]);
  });

  it('an extension the target server does not offer is reported with what to ask the provider for', async () => {
    const original = fs.readFileSync(manifestFile(), 'utf8');
    const manifest = JSON.parse(original);
    manifest.extra.extensions.push({ name: 'lifeline_no_such_extension', version: '1.0', schema: 'extensions' });
    // As a backup of a server that had this extension would record it (resealed, as lifeline writes manifests).
    fs.writeFileSync(manifestFile(), sealJson(manifest));
    try {
      await freshProject(pg, 'fresh2', 'CREATE EXTENSION pgstattuple SCHEMA extensions;');
      const result = await restore('fresh2', '--in-place', '--dry-run');
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/BLOCKED: The target server does not offer extension\(s\) the backup needs: lifeline_no_such_extension 1\.0 \(schema extensions\)/);
    } finally {
      fs.writeFileSync(manifestFile(), original);
    }
  });
});

describe('the application role end to end (not superuser)', () => {
  it('without CREATEDB the swap is refused naming the privilege and --in-place', async () => {
    await sql('postgres', 'ALTER ROLE app NOCREATEDB');
    try {
      const result = await runCli(['--db', shape.appUrl, 'restore', id, '--dry-run'], { env: home.env });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/BLOCKED: Role "app" cannot create databases \(it lacks CREATEDB\)/);
      expect(result.stderr).not.toMatch(/internal error/);
      const refused = await runCli(['--db', shape.appUrl, 'restore', id, '--yes'], { env: home.env });
      expect(refused.stderr).toMatch(/hint: Grant CREATEDB to the role, or use --in-place/);
    } finally {
      await sql('postgres', 'ALTER ROLE app CREATEDB');
    }
  });

  it('with CREATEDB: maintenance on, a new database swapped in, maintenance off, as the application role', async () => {
    const reader = () => sql<{ ok: boolean }>('postgres', `SELECT has_database_privilege('reader', 'appdb', 'CONNECT') AS ok`);
    // Without the extension only a superuser may create (shown refused above), a new database is possible.
    await sql('appdb', 'DROP EXTENSION pgstattuple');
    const backup = await runCli(['--json', 'backup', '--verify', 'none'], { env: home.env });
    expect(backup.exitCode, backup.stderr).toBe(0);
    const withoutIt = JSON.parse(backup.stdout).backup.id;
    const on = await runCli(['--db', shape.appUrl, 'maintenance', 'on'], { env: home.env });
    expect(on.exitCode, on.stderr).toBe(0);
    expect(await reader()).toEqual([{ ok: false }]);
    const result = await runCli(['--db', shape.appUrl, '--json', 'restore', withoutIt, '--yes'], { env: home.env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).restore).toMatchObject({ mode: 'swap', database: 'appdb', keptAs: expect.stringMatching(/^appdb__pre_restore_/) });
    const off = await runCli(['--db', shape.appUrl, 'maintenance', 'off'], { env: home.env });
    expect(off.exitCode, off.stderr).toBe(0);
    expect(await reader()).toEqual([{ ok: true }]);
    expect(await shape.counts()).toEqual({ ...source, 'auth.sessions': 0 });
  });
});
