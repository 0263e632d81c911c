import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnInfo } from '../../src/postgres/conninfo.js';
import { withClient } from '../../src/postgres/client.js';
import { seedDemoShop } from '../../src/postgres/seed.js';
import { createRole, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';
import { backupIdOf, cliFor, databases, dbUrl, fingerprints, jsonOf, query } from './helpers.js';

export type RestoreRole = 'superuser' | 'owner';

/**
 * The restore story end to end through the CLI, run once as superuser and once as a
 * non-superuser database owner with CREATEDB (the managed-service case).
 */
export function restoreScenario(role: RestoreRole): void {
  describe(`lifeline restore as ${role === 'superuser' ? 'superuser' : 'a database owner with CREATEDB (no superuser)'}`, { timeout: 180_000 }, () => {
    let pgc: TestCluster;
    let home: TempHome;
    let live: ConnInfo;
    let cli: ReturnType<typeof cliFor>;
    let env: Record<string, string>;
    let backupId: string;
    let atBackup: Awaited<ReturnType<typeof fingerprints>>;

    beforeAll(async () => {
      pgc = await startTestCluster();
      home = await tempHome();
      await createRole(pgc, 'app_reader', 'reader-pw');
      const admin = pgc.conn('postgres');
      let url: string;
      if (role === 'owner') {
        await createRole(pgc, 'shop_owner', 'owner-pw', 'CREATEDB');
        await query(admin, 'CREATE DATABASE shop OWNER shop_owner');
        live = { ...pgc.conn('shop'), user: 'shop_owner', password: 'owner-pw' };
        url = dbUrl(pgc, 'shop', 'shop_owner', 'owner-pw');
      } else {
        await query(admin, 'CREATE DATABASE shop');
        live = pgc.conn('shop');
        url = dbUrl(pgc, 'shop');
      }
      // Done as the role that runs lifeline: an owner can set all of this on its own database.
      await seedDemoShop(live, { rows: 20_000 });
      await withClient(live, async (c) => {
        await c.query(`ALTER DATABASE shop SET work_mem TO '8MB'`);
        await c.query(`ALTER DATABASE shop SET statement_timeout TO '5min'`);
        await c.query(`ALTER DATABASE shop SET search_path TO "$user", public, "Odd, Name"`);
        await c.query('GRANT CONNECT ON DATABASE shop TO app_reader');
        await c.query('REVOKE CONNECT, TEMPORARY ON DATABASE shop FROM PUBLIC');
        await c.query(`COMMENT ON DATABASE shop IS 'the shop''s data'`);
        await c.query('ALTER DATABASE shop CONNECTION LIMIT 50');
        await c.query('GRANT SELECT ON public.orders TO app_reader');
      });
      env = { ...home.env, LIFELINE_DB: url, LIFELINE_OPERATOR: 'ci-bot' };
      cli = cliFor(env);
      atBackup = await fingerprints(live);
      backupId = backupIdOf(await cli('--json', 'backup'));
    });
    afterAll(async () => {
      await home?.cleanup();
      await pgc?.cleanup();
    });

    const databaseFacts = async (name: string) => {
      const [row] = await query<{ settings: string[] | null; acl: string | null; comment: string | null; connlimit: number; owner: string }>(
        pgc.conn('postgres'),
        `SELECT s.setconfig AS settings, d.datacl::text AS acl, shobj_description(d.oid, 'pg_database') AS comment,
                d.datconnlimit AS connlimit, pg_get_userbyid(d.datdba) AS owner
           FROM pg_database d LEFT JOIN pg_db_role_setting s ON s.setdatabase = d.oid AND s.setrole = 0 WHERE d.datname = $1`,
        [name],
      );
      return row;
    };

    // The same for any role: once is enough.
    it.runIf(role === 'superuser')('without --yes and without a terminal: exit 4 naming --yes, nothing changed', async () => {
      const before = await databases(pgc);
      const result = await cli('restore');
      expect(result.exitCode, result.stderr).toBe(4);
      expect(result.stderr).toMatch(/--yes/);
      expect(await databases(pgc)).toEqual(before);
    });

    // The same for any role: once is enough.
    it.runIf(role === 'superuser')('--dry-run prints the plan and changes nothing', async () => {
      const before = await databases(pgc);
      const result = await cli('restore', '--dry-run');
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/restore plan/);
      expect(result.stderr).toMatch(/rename shop → shop__pre_restore_/);
      const json = await cli('--json', 'restore', '--dry-run');
      expect(jsonOf(json)).toMatchObject({ dryRun: true, backup: backupId, mode: 'swap' });
      expect(await databases(pgc)).toEqual(before);
    });

    it('damage, then restore --yes: data equals the backup; the old database is kept; settings, grants, comment and limit carried over', async () => {
      const settingsBefore = await databaseFacts('shop');
      await withClient(live, async (c) => {
        await c.query('DROP TABLE public.order_items CASCADE');
        await c.query('DELETE FROM public.orders WHERE id % 3 = 0');
      });
      expect(await fingerprints(live)).not.toEqual(atBackup);

      const result = await cli('--json', 'restore', '--yes');
      expect(result.exitCode, result.stderr).toBe(0);
      const { restore } = jsonOf(result);
      expect(restore).toMatchObject({ mode: 'swap', database: 'shop', backup: backupId });
      expect(restore.keptAs).toMatch(/^shop__pre_restore_\d{8}t\d{6}z$/);

      expect(await fingerprints(live)).toEqual(atBackup);
      expect(await databases(pgc)).toContain(restore.keptAs);
      // The kept copy is the damaged one, untouched.
      const kept = await query<{ n: string }>({ ...live, database: restore.keptAs }, `SELECT count(*) AS n FROM pg_tables WHERE tablename = 'order_items'`);
      expect(Number(kept[0].n)).toBe(0);

      const after = await databaseFacts('shop');
      expect([...(after.settings ?? [])].sort()).toEqual([...(settingsBefore.settings ?? [])].sort());
      expect(after.settings).toEqual(expect.arrayContaining(['work_mem=8MB', 'statement_timeout=5min']));
      expect(after.comment).toBe("the shop's data");
      expect(after.connlimit).toBe(50);
      expect(after.owner).toBe(settingsBefore.owner);
      expect(after.acl).toContain('app_reader=c/');
      expect(after.acl).not.toMatch(/(^|[{,])=/); // PUBLIC has nothing, as before
      const reader = { ...pgc.conn('shop'), user: 'app_reader', password: 'reader-pw' };
      expect(Number((await query<{ n: string }>(reader, 'SELECT count(*) AS n FROM public.orders'))[0].n)).toBeGreaterThan(0);
    });

    it('--into <db> --table public.orders restores one table into a side database; live untouched', async () => {
      await query(live, 'DELETE FROM public.order_items WHERE order_id IN (SELECT id FROM public.orders WHERE id % 5 = 0)');
      await query(live, 'DELETE FROM public.orders WHERE id % 5 = 0');
      const liveBefore = await fingerprints(live);
      const result = await cli('--json', 'restore', backupId, '--into', 'shop_orders', '--table', 'public.orders', '--yes');
      expect(result.exitCode, result.stderr).toBe(0);
      expect(jsonOf(result).restore).toMatchObject({ mode: 'into', database: 'shop_orders' });
      expect(await fingerprints(live)).toEqual(liveBefore);
      const side = await fingerprints({ ...live, database: 'shop_orders' });
      expect(side).toEqual(atBackup.filter((t) => t.table === 'orders'));
      // Without the consent flag too: a side database replaces nothing.
      const again = await cli('restore', backupId, '--into', 'shop_orders2', '--table', 'public.customers');
      expect(again.exitCode, again.stderr).toBe(0);
      const existing = await cli('restore', backupId, '--into', 'shop_orders', '--table', 'public.orders');
      expect(existing.exitCode).toBe(1);
      expect(existing.stderr).toMatch(/already exists/);
    });

    it.runIf(role === 'superuser')('--jobs 2 stages the dump for parallel pg_restore and removes it afterwards', async () => {
      const result = await cli('restore', backupId, '--into', 'shop_parallel', '--jobs', '2');
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/staging the dump in .* for 2 parallel jobs/);
      expect(await fingerprints({ ...live, database: 'shop_parallel' })).toEqual(atBackup);
      expect(fs.readdirSync(path.join(home.home, 'data', 'scratch'))).toEqual([]);
    });

    it('--in-place takes a safety backup first, records it, then restores in one transaction', async () => {
      await query(live, 'DELETE FROM public.order_items WHERE line_no = 1');
      const damaged = await fingerprints(live);
      const result = await cli('--json', 'restore', backupId, '--in-place', '--yes');
      expect(result.exitCode, result.stderr).toBe(0);
      const { restore } = jsonOf(result);
      expect(restore.safetyBackupId).toMatch(/^\d{8}T\d{6}Z-manual/);
      expect(await fingerprints(live)).toEqual(atBackup);
      const list = jsonOf(await cli('--json', 'list'));
      const safety = list.backups.find((b: { id: string }) => b.id === restore.safetyBackupId);
      expect(safety).toMatchObject({ label: 'manual', reason: expect.stringMatching(/safety backup before in-place restore/) });
      // The safety backup holds the damaged state, so the operator can go back.
      const manifest = jsonOf(await cli('--json', 'list')).backups.find((b: { id: string }) => b.id === restore.safetyBackupId);
      expect(manifest).toBeDefined();
      const verify = await cli('verify', restore.safetyBackupId, '--level', 'integrity');
      expect(verify.exitCode, verify.stderr).toBe(0);
      expect(damaged).not.toEqual(atBackup);
    });

    it.runIf(role === 'owner')('a role without CREATEDB: refused before anything changes, with the --in-place hint', async () => {
      await query(pgc.conn('postgres'), 'ALTER ROLE shop_owner NOCREATEDB');
      try {
        const before = await databases(pgc);
        const result = await cli('restore', backupId, '--yes');
        expect(result.exitCode).toBe(1);
        expect(result.stderr).toMatch(/error: Role "shop_owner" cannot create databases \(it lacks CREATEDB\)/);
        expect(result.stderr).toMatch(/hint: .*--in-place/);
        expect(await databases(pgc)).toEqual(before);
        const dry = await cli('restore', backupId, '--dry-run');
        expect(dry.exitCode).toBe(1);
        expect(dry.stderr).toMatch(/BLOCKED: Role "shop_owner" cannot create databases/);
      } finally {
        await query(pgc.conn('postgres'), 'ALTER ROLE shop_owner CREATEDB');
      }
    });

    it('an open session on the target: refused with the maintenance hint; maintenance on → restore → off works', async () => {
      const held = new pg.Client({ host: live.host, port: live.port, user: live.user, password: live.password, database: 'shop' });
      await held.connect();
      held.on('error', () => undefined);
      try {
        const before = await databases(pgc);
        const refused = await cli('restore', backupId, '--yes');
        expect(refused.exitCode).toBe(1);
        expect(refused.stderr).toMatch(/1 other session\(s\) are connected to "shop"/);
        expect(refused.stderr).toMatch(/hint: .*maintenance on/);
        expect(await databases(pgc)).toEqual(before);

        const aclBefore = (await databaseFacts('shop')).acl;
        const on = await cli('maintenance', 'on');
        expect(on.exitCode, on.stderr).toBe(0);
        expect(on.stdout).toMatch(/ended 1 session/);
        const readerConnects = async () =>
          (await query<{ ok: boolean }>(pgc.conn('postgres'), `SELECT has_database_privilege('app_reader', 'shop', 'CONNECT') AS ok`))[0].ok;
        const restored = await cli('restore', backupId, '--yes');
        expect(restored.exitCode, restored.stderr).toBe(0);
        // Maintenance mode was carried over to the restored database: a superuser's CONNECTION
        // LIMIT 0, or the owner's revoked CONNECT grants (a limit would shut the owner out too)...
        if (role === 'superuser') expect((await databaseFacts('shop')).connlimit).toBe(0);
        else expect(await readerConnects()).toBe(false);
        const off = await cli('maintenance', 'off');
        expect(off.exitCode, off.stderr).toBe(0);
        // ...and off puts back the limit and grants from before maintenance.
        expect((await databaseFacts('shop')).connlimit).toBe(50);
        expect(await readerConnects()).toBe(true);
        expect((await databaseFacts('shop')).acl).toBe(aclBefore);
        const verifyData = await cli('verify-data', '--against', backupId);
        expect(verifyData.exitCode, verifyData.stderr + verifyData.stdout).toBe(0);
      } finally {
        await held.end().catch(() => undefined);
      }
    });
  });
}
