import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRole, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';
import { cliFor, dbUrl, jsonOf, query } from './helpers.js';

/** An open session on `database`; `ended` resolves when the server ends it. */
async function holdSession(cluster: TestCluster, database: string, user = 'postgres', password?: string) {
  const client = new pg.Client({ host: cluster.socketDir, port: cluster.port, database, user, password });
  await client.connect();
  const ended = new Promise<void>((resolve) => {
    client.on('error', () => resolve());
    client.on('end', () => resolve());
  });
  return { client, ended, close: () => client.end().catch(() => undefined) };
}

describe('lifeline maintenance', { timeout: 120_000 }, () => {
  let pgc: TestCluster;
  let home: TempHome;
  let cli: ReturnType<typeof cliFor>;
  let ownerCli: ReturnType<typeof cliFor>;
  const connlimit = async () =>
    (await query<{ n: number }>(pgc.conn('postgres'), `SELECT datconnlimit AS n FROM pg_database WHERE datname = 'shop'`))[0].n;
  const stateFiles = () => {
    const dir = path.join(home.home, 'state', 'maintenance');
    return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  };
  const writeConfig = (config: unknown) => {
    fs.mkdirSync(path.join(home.home, 'config'), { recursive: true });
    fs.writeFileSync(path.join(home.home, 'config', 'config.json'), JSON.stringify(config));
  };

  beforeAll(async () => {
    pgc = await startTestCluster();
    home = await tempHome();
    await createRole(pgc, 'shop_owner', 'owner-pw');
    await createRole(pgc, 'app_user', 'app-pw');
    await query(pgc.conn('postgres'), 'CREATE DATABASE shop OWNER shop_owner');
    cli = cliFor({ ...home.env, LIFELINE_DB: dbUrl(pgc, 'shop'), LIFELINE_OPERATOR: 'ci-bot' });
    ownerCli = cliFor({ ...home.env, LIFELINE_DB: dbUrl(pgc, 'shop', 'shop_owner', 'owner-pw'), LIFELINE_OPERATOR: 'ci-bot' });
  });
  afterAll(async () => {
    await home?.cleanup();
    await pgc?.cleanup();
  });
  beforeEach(async () => {
    writeConfig({});
    await query(pgc.conn('postgres'), 'ALTER DATABASE shop CONNECTION LIMIT 7');
    await query(pgc.conn('postgres'), 'GRANT CONNECT ON DATABASE shop TO PUBLIC');
    fs.rmSync(path.join(home.home, 'state', 'maintenance'), { recursive: true, force: true });
  });

  it('on/off round trip puts back the exact previous CONNECTION LIMIT; on twice keeps the first previous', async () => {
    const on = await cli('--json', 'maintenance', 'on');
    expect(on.exitCode, on.stderr).toBe(0);
    expect(jsonOf(on).maintenance).toMatchObject({ changed: true, status: { on: true, connectionLimit: 0 } });
    expect(await connlimit()).toBe(0);

    const again = await cli('maintenance', 'on');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already on/);
    const status = jsonOf(await cli('--json', 'maintenance', 'status')).maintenance;
    expect(status).toMatchObject({ on: true, state: { previous: { connectionLimit: 7 }, operator: 'ci-bot' } });

    const off = await cli('maintenance', 'off');
    expect(off.exitCode, off.stderr).toBe(0);
    expect(off.stdout).toMatch(/previous settings restored/);
    expect(await connlimit()).toBe(7);
    expect(stateFiles()).toEqual([]);
    const offAgain = await cli('maintenance', 'off');
    expect(offAgain.exitCode).toBe(0);
    expect(offAgain.stdout).toMatch(/was not on/);
    expect(await connlimit()).toBe(7);
  });

  it('the saved state survives the process that turned maintenance on being killed', async () => {
    const on = await cli('maintenance', 'on');
    expect(on.exitCode, on.stderr).toBe(0);
    // The state is on disk before anything changes; a process that dies right after `on` (or
    // mid-restore, see restore-interrupt.test.ts) leaves it for the next `off`.
    expect(stateFiles()).toHaveLength(1);
    const saved = JSON.parse(fs.readFileSync(path.join(home.home, 'state', 'maintenance', stateFiles()[0]), 'utf8'));
    expect(saved).toMatchObject({ database: 'shop', strategy: 'database', previous: { connectionLimit: 7 } });
    const off = await cli('maintenance', 'off');
    expect(off.exitCode, off.stderr).toBe(0);
    expect(await connlimit()).toBe(7);
  });

  it('on ends the other sessions and refuses new ones from non-superusers', async () => {
    const session = await holdSession(pgc, 'shop', 'shop_owner', 'owner-pw');
    try {
      const on = await cli('maintenance', 'on');
      expect(on.exitCode, on.stderr).toBe(0);
      expect(on.stdout).toMatch(/ended 1 session/);
      await session.ended;
      await expect(holdSession(pgc, 'shop', 'shop_owner', 'owner-pw')).rejects.toThrow(/too many connections/);
      expect(jsonOf(await cli('--json', 'maintenance', 'status')).maintenance).toMatchObject({ on: true, otherSessions: 0 });
    } finally {
      await session.close();
      await cli('maintenance', 'off');
    }
    expect(await connlimit()).toBe(7);
  });

  it("as the owner: CONNECT is revoked from the others but kept for itself; a superuser's session it cannot end is named, exit 3", async () => {
    const acl = async () => (await query<{ acl: string | null }>(pgc.conn('postgres'), `SELECT datacl::text AS acl FROM pg_database WHERE datname = 'shop'`))[0].acl;
    const grants = async () =>
      query<{ grantee: string; privilege: string; grantable: boolean }>(
        pgc.conn('postgres'),
        `SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee, a.privilege_type AS privilege, a.is_grantable AS grantable
           FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a WHERE d.datname = 'shop' ORDER BY 1, 2`,
      );
    await query(pgc.conn('postgres'), 'GRANT CONNECT ON DATABASE shop TO app_user WITH GRANT OPTION');
    // As managed services grant their admin role, so that it may end other roles' sessions.
    await query(pgc.conn('postgres'), 'GRANT pg_signal_backend TO shop_owner');
    const before = await grants();
    const own = await holdSession(pgc, 'shop', 'shop_owner', 'owner-pw');
    const app = await holdSession(pgc, 'shop', 'app_user', 'app-pw');
    const su = await holdSession(pgc, 'shop');
    try {
      const on = await ownerCli('maintenance', 'on');
      expect(on.exitCode, on.stderr).toBe(3);
      expect(on.stdout).toMatch(/ended 2 session/);
      expect(on.stderr).toMatch(/session \d+ \(postgres\) is still connected/);
      expect(on.stderr).toMatch(/these login roles can still connect: shop_owner/);
      await own.ended;
      await app.ended;
      // The owner is not shut out (CONNECTION LIMIT 0 would do that); the application role is.
      expect(await connlimit()).toBe(7);
      await expect(holdSession(pgc, 'shop', 'app_user', 'app-pw')).rejects.toThrow(/permission denied for database "shop"/);
      const owner = await holdSession(pgc, 'shop', 'shop_owner', 'owner-pw');
      await owner.close();
      expect(jsonOf(await ownerCli('--json', 'maintenance', 'status')).maintenance).toMatchObject({
        on: true,
        state: { previous: { method: 'revoke-connect', connectGrants: [{ grantee: 'PUBLIC', grantable: false }, { grantee: 'app_user', grantable: true }] } },
      });
      const off = await ownerCli('maintenance', 'off');
      expect(off.exitCode, off.stderr).toBe(0);
      expect(await grants()).toEqual(before);
      expect(await connlimit()).toBe(7);
      const back = await holdSession(pgc, 'shop', 'app_user', 'app-pw');
      await back.close();
    } finally {
      await own.close();
      await app.close();
      await su.close();
      await query(pgc.conn('postgres'), 'REVOKE CONNECT ON DATABASE shop FROM app_user CASCADE');
      await query(pgc.conn('postgres'), 'REVOKE pg_signal_backend FROM shop_owner');
    }
    expect(await acl()).not.toMatch(/app_user/);
  });

  it('as the owner: a crash after the state is saved but before CONNECT is revoked still turns off cleanly', async () => {
    const effective = () =>
      query(pgc.conn('postgres'), `SELECT a.grantee, a.privilege_type, a.is_grantable FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a WHERE d.datname = 'shop' ORDER BY 1, 2`);
    const before = await effective();
    const on = await ownerCli('maintenance', 'on');
    expect(on.exitCode, on.stderr).toBe(0);
    // Put CONNECT back by hand, as if `on` had died between saving its state and revoking.
    await query(pgc.conn('postgres'), 'GRANT CONNECT ON DATABASE shop TO PUBLIC');
    const off = await ownerCli('maintenance', 'off');
    expect(off.exitCode, off.stderr).toBe(0);
    expect(await effective()).toEqual(before);
    expect(stateFiles()).toEqual([]);
  });

  it('command strategy runs the operator commands; a failing command is named and leaves maintenance off', async () => {
    const flag = path.join(home.home, 'maintenance.flag');
    writeConfig({ maintenance: { strategy: 'command', onCommand: ['touch', flag], offCommand: ['rm', flag], statusCommand: ['test', '-e', flag] } });
    const on = await cli('maintenance', 'on');
    expect(on.exitCode, on.stderr).toBe(0);
    expect(fs.existsSync(flag)).toBe(true);
    expect(jsonOf(await cli('--json', 'maintenance', 'status')).maintenance).toMatchObject({ on: true });
    expect(await connlimit()).toBe(7); // the database itself is left alone
    const off = await cli('maintenance', 'off');
    expect(off.exitCode, off.stderr).toBe(0);
    expect(fs.existsSync(flag)).toBe(false);
    expect(jsonOf(await cli('--json', 'maintenance', 'status')).maintenance).toMatchObject({ on: false });

    writeConfig({ maintenance: { strategy: 'command', onCommand: ['sh', '-c', 'echo load balancer unreachable >&2; exit 3'], offCommand: ['true'] } });
    const failed = await cli('maintenance', 'on');
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toMatch(/maintenance on command failed \(exit 3\): load balancer unreachable/);
    expect(failed.stderr).toMatch(/hint: .*onCommand/);
    expect(stateFiles()).toEqual([]);
    expect(jsonOf(await cli('--json', 'maintenance', 'status')).maintenance).toMatchObject({ on: false });
  });
});
