import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDatabase, type ConnInfo } from '../../src/postgres/conninfo.js';
import { withClient } from '../../src/postgres/client.js';
import { logicalBackup } from '../../src/engine/backup/logical.js';
import { openRepository } from '../../src/storage/open-repository.js';
import { LifelineError } from '../../src/errors.js';
import { createDatabase, startTestCluster, type TestCluster } from '../helpers/cluster.js';

let pg: TestCluster;
let big: ConnInfo;
let tiny: ConnInfo;
let scratch: string;

/** ~40 MB of random hex text: compresses about 2:1, so it cannot hide in a small disk. */
async function makeBig(conn: ConnInfo) {
  await withClient(conn, (c) =>
    c.query(`CREATE TABLE notes (id int PRIMARY KEY, body text);
             INSERT INTO notes SELECT g, ${Array(10).fill('md5(random()::text)').join(' || ')} FROM generate_series(1, 120000) g;`),
  );
}

beforeAll(async () => {
  pg = await startTestCluster();
  big = await createDatabase(pg, 'big');
  await makeBig(big);
  tiny = await createDatabase(pg, 'tiny');
  await withClient(tiny, (c) => c.query('CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100)'));
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-faults-'));
}, 120_000);
afterAll(async () => {
  await pg?.cleanup();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

const base = { label: 'daily' as const, operator: 'test', compression: 'zstd' as const, lockWaitTimeoutSeconds: 10 };

/** Files in the repository other than its identity file: a failed backup must leave none. */
function leftovers(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => !['lifeline.json', 'backups'].includes(f));
}

/** pg_dump processes started by this test process (not by other test files running beside it). */
async function ownPgDumps(): Promise<number[]> {
  const { stdout } = await execa('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { reject: false });
  return stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter(([, comm]) => comm === 'pg_dump').map(([pid]) => Number(pid));
}

describe('a backup that fails part-way', () => {
  it('leaves no manifest and nothing visible when pg_dump is killed mid-stream', async () => {
    const dir = path.join(scratch, 'killed');
    const repo = await openRepository(dir);
    // The roles (globals.sql) are stored beside the streaming dump. Hold that write until the
    // failed backup has been removed (or 1 s): a removal that does not wait for it is undone by
    // a late globals.sql.
    let removed = () => undefined as void;
    const removal = new Promise<void>((resolve) => (removed = resolve));
    const deleteBackup = repo.deleteBackup.bind(repo);
    repo.deleteBackup = async (id) => {
      const result = await deleteBackup(id);
      removed();
      return result;
    };
    const putBackupObject = repo.putBackupObject.bind(repo);
    repo.putBackupObject = async (id, name, body, options) => {
      if (name === 'globals.sql') await Promise.race([removal, new Promise((resolve) => setTimeout(resolve, 1000))]);
      return putBackupObject(id, name, body, options);
    };
    let killed = false;
    const attempt = logicalBackup({
      ...base,
      conn: big,
      repo,
      // On the table message (never throttled, unlike byte counts): pg_dump is then mid-stream.
      onProgress: (p) => {
        if (p.phase === 'dump' && p.message === 'dumping public.notes' && !killed) {
          killed = true;
          void ownPgDumps().then((pids) => pids.forEach((pid) => process.kill(pid, 'SIGKILL')));
        }
      },
    });
    await expect(attempt).rejects.toMatchObject({ code: 'BACKUP_FAILED', message: expect.stringMatching(/pg_dump was killed/) });
    expect(killed).toBe(true);
    expect((await repo.listBackups()).backups).toEqual([]);
    expect(leftovers(dir)).toEqual([]);
    const again = await logicalBackup({ ...base, conn: tiny, repo });
    expect((await repo.listBackups()).backups.map((b) => b.id)).toEqual([again.manifest.id]);
  });

  it('stops cleanly when aborted (Ctrl-C) and leaves nothing behind', async () => {
    const dir = path.join(scratch, 'aborted');
    const repo = await openRepository(dir);
    const controller = new AbortController();
    const attempt = logicalBackup({
      ...base,
      conn: big,
      repo,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'dump' && p.message === 'dumping public.notes') controller.abort(new LifelineError('ABORTED', 'Interrupted by SIGINT.'));
      },
    });
    await expect(attempt).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await ownPgDumps()).toEqual([]);
    expect(leftovers(dir)).toEqual([]);
    expect((await repo.listBackups()).backups).toEqual([]);
  });

  it('reports a full repository disk and stays usable afterwards', async (ctx) => {
    const dir = path.join(scratch, 'full');
    fs.mkdirSync(dir);
    if (process.getuid?.() !== 0) return ctx.skip();
    const mount = await execa('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir], { reject: false });
    if (mount.exitCode !== 0) return ctx.skip();
    try {
      const repo = await openRepository(dir);
      await expect(logicalBackup({ ...base, conn: big, repo })).rejects.toMatchObject({ code: 'REPO_FULL' });
      expect((await repo.listBackups()).backups).toEqual([]);
      expect(leftovers(dir)).toEqual([]);
      const small = await logicalBackup({ ...base, conn: withDatabase(tiny, 'tiny'), repo });
      expect((await repo.listBackups()).backups.map((b) => b.id)).toEqual([small.manifest.id]);
    } finally {
      await execa('umount', [dir], { reject: false });
    }
  });
});
