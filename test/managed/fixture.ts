import { withClient } from '../../src/postgres/client.js';
import type { ConnInfo } from '../../src/postgres/conninfo.js';
import { createRole, type TestCluster } from '../helpers/cluster.js';

export const APP_PASSWORD = 'app-secret';
export const READER_PASSWORD = 'reader-secret';

export interface ManagedShape {
  /** The application role (not superuser, CREATEDB, BYPASSRLS like Supabase's `postgres`) on appdb. */
  app: ConnInfo;
  appUrl: string;
  /** The application role's URL for another database of the cluster. */
  appUrlFor(database: string): string;
  /** A role that may read public only (no BYPASSRLS), for the privilege errors. */
  reader: ConnInfo;
  readerUrl: string;
  /** Rows per table as the superuser sees them. */
  counts(database?: string): Promise<Record<string, number>>;
}

/**
 * The platform's side of a Supabase-shaped database, as a new project has it: `supabase_admin`
 * owns auth (users, identities, sessions, its migrations), storage (buckets, objects with
 * row-level security), realtime (not readable by the application) and extensions (citext); the
 * application role `app` gets the grants Supabase gives its `postgres` role. Run as a superuser.
 */
const PLATFORM_DDL = `
  CREATE SCHEMA auth AUTHORIZATION supabase_admin;
  CREATE SCHEMA storage AUTHORIZATION supabase_admin;
  CREATE SCHEMA realtime AUTHORIZATION supabase_admin;
  CREATE SCHEMA extensions AUTHORIZATION supabase_admin;
  CREATE EXTENSION citext SCHEMA extensions;
  SET ROLE supabase_admin;
  CREATE TABLE auth.users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text UNIQUE NOT NULL, created_at timestamptz DEFAULT now());
  CREATE TABLE auth.identities (id bigserial PRIMARY KEY, user_id uuid NOT NULL REFERENCES auth.users ON DELETE CASCADE, provider text NOT NULL);
  CREATE TABLE auth.sessions (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id uuid REFERENCES auth.users ON DELETE CASCADE);
  CREATE TABLE auth.schema_migrations (version text PRIMARY KEY);
  INSERT INTO auth.schema_migrations VALUES ('20240101'), ('20240201');
  CREATE TABLE storage.buckets (id text PRIMARY KEY, public boolean NOT NULL DEFAULT false);
  CREATE TABLE storage.objects (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), bucket_id text REFERENCES storage.buckets, name text, owner uuid);
  ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
  CREATE POLICY owner_reads ON storage.objects FOR SELECT TO authenticated USING (true);
  CREATE TABLE realtime.subscription (id bigserial PRIMARY KEY, topic text);
  GRANT USAGE ON SCHEMA auth, storage, extensions TO app, authenticated;
  GRANT SELECT, INSERT, UPDATE, DELETE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA auth, storage TO app;
  GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA auth, storage TO app;
  GRANT SELECT ON storage.objects TO authenticated;
  RESET ROLE;
`;

/**
 * A database shaped like a Supabase project: the platform's schemas (PLATFORM_DDL) holding users
 * and files, and the application schema public owned by `app`, whose profiles reference auth.users.
 */
export async function managedShape(pg: TestCluster): Promise<ManagedShape> {
  await createRole(pg, 'app', APP_PASSWORD, 'CREATEDB BYPASSRLS');
  await createRole(pg, 'reader', READER_PASSWORD);
  await withClient(pg.conn('postgres'), async (c) => {
    await c.query(`DROP DATABASE IF EXISTS appdb WITH (FORCE)`);
    for (const role of ['supabase_admin', 'authenticated']) {
      await c.query(`DO $$ BEGIN CREATE ROLE ${role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    }
    await c.query(`CREATE DATABASE appdb OWNER app`);
  });
  await withClient(pg.conn('appdb'), async (c) => {
    await c.query(`
      ALTER SCHEMA public OWNER TO app;
      ${PLATFORM_DDL}
      SET ROLE supabase_admin;
      INSERT INTO auth.users (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, 40) g;
      INSERT INTO auth.identities (user_id, provider) SELECT id, 'email' FROM auth.users;
      INSERT INTO auth.sessions (user_id) SELECT id FROM auth.users LIMIT 10;
      INSERT INTO storage.buckets VALUES ('avatars', true), ('private', false);
      INSERT INTO storage.objects (bucket_id, name, owner) SELECT 'avatars', 'a' || g || '.png', NULL FROM generate_series(1, 25) g;
      INSERT INTO realtime.subscription (topic) VALUES ('room:1'), ('room:2');
      RESET ROLE;
      SET ROLE app;
      CREATE TABLE public.profiles (id uuid PRIMARY KEY REFERENCES auth.users ON DELETE CASCADE, display_name text, handle extensions.citext);
      CREATE TABLE public.todos (id serial PRIMARY KEY, profile_id uuid NOT NULL REFERENCES public.profiles, title text NOT NULL, done boolean DEFAULT false);
      INSERT INTO public.profiles SELECT id, split_part(email, '@', 1), upper(split_part(email, '@', 1)) FROM auth.users;
      INSERT INTO public.todos (profile_id, title) SELECT id, 'todo ' || g FROM public.profiles, generate_series(1, 3) g;
      GRANT USAGE ON SCHEMA public TO reader;
      GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;
      GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO reader;
      RESET ROLE;
      GRANT USAGE ON SCHEMA storage TO reader;
      GRANT SELECT ON storage.objects TO reader;
    `);
  });
  const url = (user: string, password: string, database = 'appdb') => `postgresql://${user}:${password}@127.0.0.1:${pg.port}/${database}?sslmode=disable`;
  return {
    app: { ...pg.conn('appdb'), user: 'app', password: APP_PASSWORD, host: '127.0.0.1' },
    appUrl: url('app', APP_PASSWORD),
    appUrlFor: (database) => url('app', APP_PASSWORD, database),
    reader: { ...pg.conn('appdb'), user: 'reader', password: READER_PASSWORD, host: '127.0.0.1' },
    readerUrl: url('reader', READER_PASSWORD),
    async counts(database = 'appdb') {
      return withClient(pg.conn(database), async (c) => {
        const out: Record<string, number> = {};
        for (const t of ['auth.users', 'auth.identities', 'auth.sessions', 'storage.buckets', 'storage.objects', 'public.profiles', 'public.todos']) {
          out[t] = Number((await c.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
        }
        return out;
      });
    },
  };
}

/**
 * A new project, as the platform hands it over: a database owned by `app` whose platform schemas
 * exist with their tables empty (the platform's own migration rows aside, one newer than the
 * backed-up project's). `extra` runs as the superuser after the platform's DDL.
 */
export async function freshProject(pg: TestCluster, name: string, extra = ''): Promise<void> {
  await withClient(pg.conn('postgres'), async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name} OWNER app`);
  });
  await withClient(pg.conn(name), (c) =>
    c.query(`ALTER SCHEMA public OWNER TO app; ${PLATFORM_DDL} INSERT INTO auth.schema_migrations VALUES ('20250101'); ${extra}`),
  );
}
