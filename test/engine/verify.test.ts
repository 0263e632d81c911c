import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnInfo } from '../../src/postgres/conninfo.js';
import { verifyBackup } from '../../src/engine/verify/verify.js';
import { openRepository } from '../../src/storage/open-repository.js';
import { createRole, seeded, startTestCluster, tempHome, type TempHome, type TestCluster } from '../helpers/cluster.js';
import { backupIdOf, cliFor, databases, dbUrl, jsonOf, query } from './helpers.js';

describe('lifeline verify, verify-data and backup references', { timeout: 240_000 }, () => {
  let pgc: TestCluster;
  let home: TempHome;
  let live: ConnInfo;
  let cli: ReturnType<typeof cliFor>;
  let repoDir: string;
  let id: string;

  const writeConfig = (config: unknown) => {
    fs.mkdirSync(path.join(home.home, 'config'), { recursive: true });
    fs.writeFileSync(path.join(home.home, 'config', 'config.json'), JSON.stringify(config));
  };
  const listed = async (backupId: string) =>
    jsonOf(await cli('--json', 'list')).backups.find((b: { id: string }) => b.id === backupId);
  const records = (backupId: string) => {
    const dir = path.join(repoDir, 'backups', backupId, 'verify');
    return fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))) : [];
  };

  beforeAll(async () => {
    pgc = await startTestCluster();
    home = await tempHome();
    live = await seeded(pgc, { rows: 3000 });
    repoDir = path.join(home.home, 'data', 'repository');
    cli = cliFor({ ...home.env, LIFELINE_DB: dbUrl(pgc, 'shop'), LIFELINE_OPERATOR: 'ci-bot' });
    writeConfig({ verify: { assertions: [{ name: 'orders have customers', sql: 'SELECT count(*) > 0 FROM public.orders' }] } });
    id = backupIdOf(await cli('--json', 'backup', '--verify', 'none'));
  });
  afterAll(async () => {
    await home?.cleanup();
    await pgc?.cleanup();
  });

  it('no verified backup yet: restore (latest-verified) refuses with a clear error', async () => {
    expect((await listed(id)).verifiedLevel).toBeNull();
    const result = await cli('restore', '--yes');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/error: No logical backup in .* has passed verification at level archive/);
    expect(result.stderr).toMatch(/hint: Run `lifeline verify latest/);
  });

  it('each level is recorded under backups/<id>/verify/ and list shows the highest passed', async () => {
    const integrity = await cli('verify', id, '--level', 'integrity');
    expect(integrity.exitCode, integrity.stderr).toBe(0);
    expect(integrity.stdout).toMatch(/ok   integrity\s+object data\.dump/);
    expect((await listed(id)).verifiedLevel).toBe('integrity');

    const archive = await cli('--json', 'verify', id, '--level', 'archive');
    expect(archive.exitCode, archive.stderr).toBe(0);
    expect(jsonOf(archive).verification).toMatchObject({ ok: true, passedLevel: 'archive', requestedLevel: 'archive' });
    expect((await listed(id)).verifiedLevel).toBe('archive');

    const restore = await cli('verify', id, '--level', 'restore');
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect((await listed(id)).verifiedLevel).toBe('restore');

    const consistency = await cli('--json', 'verify', 'latest', '--level', 'consistency');
    expect(consistency.exitCode, consistency.stderr).toBe(0);
    const report = jsonOf(consistency).verification;
    expect(report).toMatchObject({ ok: true, passedLevel: 'consistency', restoredInto: 'disposable sandbox cluster' });
    const names = report.checks.map((c: { name: string }) => c.name);
    expect(names).toEqual(expect.arrayContaining(['table public.orders', 'foreign keys', 'indexes', 'amcheck', 'assertion orders have customers']));
    expect((await listed(id)).verifiedLevel).toBe('consistency');

    const saved = records(id);
    expect(saved.map((r) => r.requestedLevel).sort()).toEqual(['archive', 'consistency', 'integrity', 'restore']);
    expect(saved.every((r) => r.ok && r.backupId === id)).toBe(true);
    // The disposable cluster is gone.
    expect(fs.readdirSync(path.join(home.home, 'data', 'scratch'))).toEqual([]);
  });

  it('a failing SQL assertion fails consistency, names it, and is recorded as such', async () => {
    writeConfig({ verify: { assertions: [{ name: 'no cancelled orders', sql: `SELECT count(*) = 0 FROM public.orders WHERE status = 'cancelled'` }] } });
    try {
      const result = await cli('verify', id, '--level', 'consistency');
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toMatch(/FAIL consistency assertion no cancelled orders: returned false, expected true/);
      expect(result.stdout).toMatch(/FAILED verification \(passed: restore\)/);
      const failed = records(id).find((r) => !r.ok);
      expect(failed).toMatchObject({ requestedLevel: 'consistency', passedLevel: 'restore' });
      expect((await listed(id)).verifiedLevel).toBe('consistency'); // an earlier run proved it
    } finally {
      writeConfig({});
    }
  });

  it('--staging restores into a named server as a CREATEDB role and drops its scratch database', async () => {
    await createRole(pgc, 'stager', 'stage-pw', 'CREATEDB');
    const before = await databases(pgc);
    const result = await cli('--json', 'verify', id, '--level', 'consistency', '--staging', dbUrl(pgc, 'postgres', 'stager', 'stage-pw'));
    expect(result.exitCode, result.stderr).toBe(0);
    const report = jsonOf(result).verification;
    expect(report.restoredInto).toMatch(/^postgresql:\/\/stager@\/lifeline_verify_/);
    expect(report.restoredInto).not.toContain('stage-pw');
    expect(await databases(pgc)).toEqual(before);

    await createRole(pgc, 'weak', 'weak-pw');
    const refused = await cli('verify', id, '--level', 'restore', '--staging', dbUrl(pgc, 'postgres', 'weak', 'weak-pw'));
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/Cannot create the scratch database/);
    expect(refused.stderr).toMatch(/hint: The staging role needs CREATEDB/);
  });

  it('verify-data --against passes on unchanged data and fails naming the changed table', async () => {
    const same = await cli('verify-data', '--against', id);
    expect(same.exitCode, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).toMatch(/live data matches/);
    await query(live, `UPDATE public.products SET price = price + 1 WHERE id = 3`);
    const changed = await cli('--json', 'verify-data', '--against', id);
    expect(changed.exitCode).toBe(1);
    const out = jsonOf(changed);
    expect(out.ok).toBe(false);
    expect(out.checks.filter((c: { ok: boolean }) => !c.ok)).toEqual([
      expect.objectContaining({ name: 'table public.products', detail: expect.stringMatching(/contents differ/) }),
    ]);
  });

  it('records under the repository lock: waits for a live holder, or fails with REPO_LOCKED', async () => {
    const repo = await openRepository(repoDir);
    const manifest = await repo.readManifest(id);
    const workDir = path.join(home.home, 'data', 'scratch');
    const before = records(id).length;
    const release = await repo.acquireLock({ command: 'test holder' });
    try {
      await expect(verifyBackup({ repo, manifest, level: 'integrity', workDir, lockWaitMs: 200 })).rejects.toMatchObject({
        code: 'REPO_LOCKED',
        message: expect.stringMatching(/locked by test holder/),
      });
      expect(records(id)).toHaveLength(before);
      // Released while the verification waits: it records and succeeds.
      const waited = await verifyBackup({
        repo,
        manifest,
        level: 'integrity',
        workDir,
        onProgress: (p) => {
          if (p.phase === 'lock') void release();
        },
      });
      expect(waited.ok).toBe(true);
      expect(records(id)).toHaveLength(before + 1);
    } finally {
      await release();
    }
  });

  it('unknown id and ambiguous prefix: clear error, exit 1', async () => {
    const unknown = await cli('verify', '20990101T000000Z-daily');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/error: No backup 20990101T000000Z-daily/);
    const second = backupIdOf(await cli('--json', 'backup', '--verify', 'none'));
    const prefix = commonPrefix(id, second);
    const ambiguous = await cli('restore', prefix.slice(0, 4), '--yes');
    expect(ambiguous.exitCode).toBe(1);
    expect(ambiguous.stderr).toMatch(/matches 2 backups/);
    const unique = await cli('--json', 'verify', second.slice(0, prefix.length + 1), '--level', 'integrity');
    expect(unique.exitCode, unique.stderr).toBe(0);
    expect(jsonOf(unique).verification.backupId).toBe(second);
  });

  describe('corruption: verify names it (exit 1), restore refuses before touching anything', () => {
    const corrupt = async (damage: (dir: string, dump: string) => void) => {
      const backupId = backupIdOf(await cli('--json', 'backup', '--verify', 'none'));
      const dir = path.join(repoDir, 'backups', backupId);
      const dump = fs.readdirSync(dir).find((f) => f.startsWith('data.dump'))!;
      fs.chmodSync(dir, 0o700);
      if (fs.existsSync(path.join(dir, dump))) fs.chmodSync(path.join(dir, dump), 0o600);
      damage(dir, path.join(dir, dump));
      return { backupId, dump };
    };
    const refusesRestore = async (backupId: string, pattern: RegExp) => {
      const before = await databases(pgc);
      const result = await cli('restore', backupId, '--yes');
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(pattern);
      expect(await databases(pgc)).toEqual(before);
    };

    it('a flipped byte', async () => {
      const { backupId, dump } = await corrupt((_dir, file) => {
        const bytes = fs.readFileSync(file);
        bytes[Math.floor(bytes.length / 2)] ^= 0x01;
        fs.writeFileSync(file, bytes);
      });
      const result = await cli('verify', backupId, '--level', 'integrity');
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toMatch(new RegExp(`FAIL integrity\\s+object ${dump.replace('.', '\\.')}: sha256 .* differs`));
      await refusesRestore(backupId, /failed its integrity check: object data\.dump.*sha256/);
    });

    it('a truncated object', async () => {
      const { backupId } = await corrupt((_dir, file) => fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2)));
      const result = await cli('verify', backupId, '--level', 'archive');
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toMatch(/FAIL integrity\s+object data\.dump\S*: size \d+ bytes, manifest says \d+ \(truncated/);
      await refusesRestore(backupId, /truncated/);
    });

    it('a missing object', async () => {
      const { backupId } = await corrupt((_dir, file) => fs.rmSync(file));
      const result = await cli('verify', backupId);
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toMatch(/FAIL integrity\s+object data\.dump\S*: missing from the repository/);
      await refusesRestore(backupId, /missing from the repository/);
    });

    it('a missing manifest', async () => {
      const { backupId } = await corrupt((dir) => fs.rmSync(path.join(dir, 'manifest.json')));
      const result = await cli('verify', backupId);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`error: Backup ${backupId} has no manifest.json`));
      await refusesRestore(backupId, /has no manifest\.json/);
    });
  });
});

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}
