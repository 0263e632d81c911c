import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRole, runCli, seeded, startTestCluster, tempHome, type CliResult, type TempHome, type TestCluster } from '../helpers/cluster.js';
import { withClient } from '../../src/postgres/client.js';
import { archiveCommand } from '../../src/engine/wal/command.js';
import { shareRepositoryWithServer } from '../../src/engine/wal/archiving.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { findTool } from '../../src/postgres/tools.js';
import { installArgvShims, type ArgvShims } from './argv-shims.js';

/*
 * Issue #9, secrets and file modes, over one realistic day of work through the built CLI (one
 * workflow serves both: it is the suite's most expensive).
 *
 * Secrets: a role with a distinctive password, in --db; afterwards the password is in no file
 * lifeline wrote (the repository, LIFELINE_HOME), in no output, and in the argv of no child
 * process (every pg tool, zstd and tar run through shims that record their argv before exec'ing
 * the real program).
 *
 * File modes: every command runs under umask 000 (the most permissive), and so does the server,
 * archiving through `lifeline wal-push`. Afterwards every file in the repository and the home is
 * 0600 and every folder 0700. Disposable clusters (verify's) must be gone by then; the one
 * exception is the o+x (search, not read) that lifeline adds to the folders above its clusters
 * (home, data, scratch) so the postgres user can reach them. The repository is private even where
 * the server's user writes into it (wal/).
 */
const CANARY = `S3cr3t-canary-${randomBytes(6).toString('hex')}`;
/** Characters that need escaping in a URL, a libpq conninfo string and a SQL literal. */
const PASSWORD = `${CANARY}:/@?&='"\\ %x`;
const WRONG = `S3cr3t-canary-wrong-${randomBytes(6).toString('hex')}`;
/** Every form the password could take on its way out: as typed, URL-escaped, and the common prefix. */
const NEEDLES = ['S3cr3t-canary', PASSWORD, encodeURIComponent(PASSWORD), WRONG];

let pg: TestCluster;
let home: TempHome;
let base: string;
let repo: string;
let shims: ArgvShims;
let url: string;
const outputs: { args: string[]; result: CliResult }[] = [];

const urlFor = (password: string, database = 'shop') => `postgresql://canary:${encodeURIComponent(password)}@127.0.0.1:${pg.port}/${database}`;

async function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const result = await runCli(['--repo', repo, ...args], { env: { ...home.env, ...shims.env, ...env }, timeoutMs: 180_000, umask: 0o000 });
  outputs.push({ args, result });
  expect(result.stderr).not.toContain('internal error');
  return result;
}

const sql = (text: string) => withClient(pg.conn('shop'), (client) => client.query(text));

beforeAll(async () => {
  home = await tempHome();
  base = await fs.promises.mkdtemp(path.join('/tmp', 'lifeline-secrets-'));
  repo = path.join(base, 'repo');
  await shareRepositoryWithServer(new LocalStore({ root: repo }), repo);
  fs.rmSync(path.join(repo, 'lifeline.json')); // the CLI writes it, under its umask
  const umask = process.umask(0); // the server, and so archive_command, inherit it
  try {
    pg = await startTestCluster({
      settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand({ repo }), max_wal_senders: 4 },
    });
  } finally {
    process.umask(umask);
  }
  await createRole(pg, 'canary', PASSWORD, 'SUPERUSER');
  await seeded(pg, { database: 'shop', rows: 2000 });
  url = urlFor(PASSWORD);
  const bindir = (await findTool('pg_dump', { major: pg.major })).bindir;
  shims = await installArgvShims({ dir: path.join(base, 'shims'), bindir, pathTools: ['zstd', 'tar'] });
}, 180_000);

afterAll(async () => {
  await home?.cleanup();
  await pg?.cleanup();
  if (base) await fs.promises.rm(base, { recursive: true, force: true });
});

/** Every file below `root` whose bytes hold one of the needles, as "file: needle". */
function filesHolding(root: string): string[] {
  const hits: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const bytes = fs.readFileSync(full);
        for (const needle of NEEDLES) if (bytes.includes(needle)) hits.push(`${full}: ${needle}`);
      }
    }
  };
  walk(root);
  return hits;
}

describe('a day of work', () => {
  it('the password of the target reaches no file, no output and no child argv', async () => {
    const logical = await cli(['--db', url, '--json', 'backup', '--label', 'pre-deploy', '--reason', 'secrets test']);
    expect(logical.exitCode, logical.stderr).toBe(0);
    const logicalId = JSON.parse(logical.stdout).backup.id as string;

    const physical = await cli(['--db', url, 'backup', '--physical', '--verify', 'archive']);
    expect(physical.exitCode, physical.stderr).toBe(0);

    // Commits on both sides of a target time, archived, for a point-in-time recovery.
    await sql("CREATE TABLE marks (at text); INSERT INTO marks VALUES ('before')");
    const [{ t: target }] = (await sql(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t`)).rows;
    await sql("INSERT INTO marks VALUES ('after')");
    // archiving check switches WAL and waits until the segment is in the repository.
    expect((await cli(['--db', url, 'archiving', 'check', '--timeout', '60'])).exitCode).toBe(0);
    const pitr = await cli(['--db', url, 'pitr', '--to', target, '--into', 'shop_pitr', '--yes']);
    expect(pitr.exitCode, pitr.stderr).toBe(0);

    const verify = await cli(['--db', url, 'verify', logicalId, '--level', 'consistency']);
    expect(verify.exitCode, verify.stderr).toBe(0);
    const side = await cli(['--db', url, 'restore', logicalId, '--into', 'shop_side', '--jobs', '2']);
    expect(side.exitCode, side.stderr).toBe(0);
    const swap = await cli(['--db', url, 'restore', logicalId, '--yes']);
    expect(swap.exitCode, swap.stderr).toBe(0);
    expect((await cli(['--db', url, 'maintenance', 'on'])).exitCode).toBe(0);
    expect((await cli(['--db', url, 'maintenance', 'off'])).exitCode).toBe(0);

    const status = await cli(['--db', url, '--json', 'status']);
    expect(JSON.parse(status.stdout)).toBeTruthy();
    const list = await cli(['--db', url, '--json', 'list']);
    expect(JSON.parse(list.stdout).backups.length).toBe(2);

    const run = await cli(['--db', url, 'run', 'pre-deploy-backup', '--param', 'reason=secrets drill', '--plain', '--yes']);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(fs.readdirSync(path.join(home.home, 'state', 'audit')).some((name) => name.endsWith('.jsonl'))).toBe(true);

    // A wrong password fails cleanly and is not echoed either.
    const wrong = await cli(['--db', urlFor(WRONG), 'backup']);
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toMatch(/password|authentication/i);
    const wrongStatus = await cli(['--db', urlFor(WRONG), '--json', 'status']);
    expect(wrongStatus.exitCode).not.toBe(0);

    // The config file never takes a password; a target names a variable that holds it instead.
    for (const value of [url, JSON.stringify({ url }), JSON.stringify({ url: `postgresql://canary@127.0.0.1:${pg.port}/shop?password=${encodeURIComponent(PASSWORD)}` })]) {
      const set = await cli(['config', 'set', value.startsWith('{') ? 'targets.prod' : 'targets.prod.url', value]);
      expect(set.exitCode, set.stderr).toBe(2);
      expect(set.stderr).toMatch(/does not store passwords/);
    }
    const prod = JSON.stringify({ url: `postgresql://canary@127.0.0.1:${pg.port}/shop`, passwordEnv: 'CANARY_PASSWORD' });
    expect((await cli(['config', 'set', 'targets.prod', prod])).exitCode).toBe(0);
    const viaEnv = await cli(['--target', 'prod', 'backup', '--verify', 'none'], { CANARY_PASSWORD: PASSWORD });
    expect(viaEnv.exitCode, viaEnv.stderr).toBe(0);
    expect((await cli(['config', 'get'])).exitCode).toBe(0);
    expect((await cli(['--db', url, 'prune', '--yes'])).exitCode).toBe(0);

    // Now look everywhere.
    expect(filesHolding(repo)).toEqual([]);
    expect(filesHolding(home.home)).toEqual([]);
    for (const { args, result } of outputs) {
      for (const needle of NEEDLES) {
        expect(result.stdout.includes(needle) || result.stderr.includes(needle), `output of ${args.filter((a) => !a.includes('canary')).join(' ')} holds ${needle}`).toBe(false);
      }
    }
    const calls = shims.calls();
    const seen = new Set(calls.map((call) => call.tool));
    for (const tool of ['pg_dump', 'pg_dumpall', 'pg_restore', 'pg_basebackup', 'initdb', 'pg_ctl', 'zstd', 'tar']) expect(seen, `${tool} ran through its shim`).toContain(tool);
    const leaking = calls.filter((call) => call.argv.some((arg) => NEEDLES.some((needle) => arg.includes(needle))));
    expect(leaking).toEqual([]);
  }, 600_000);

  it('leaves only 0600 files and 0700 folders, under umask 000', () => {
    const entries = [...walk(home.home), ...walk(repo)];
    // The ground was covered: conf, audit log, run state, maintenance state, and the repository's
    // backups, verification records, WAL and audit copies.
    const written = entries.map((e) => e.path);
    for (const expected of [/\/config\/config\.json$/, /\/state\/audit\/.*\.jsonl$/, /\/state\/runs\/.*\.json$/, /\/state\/maintenance/, /\/repo\/wal\/0+1\/[0-9A-F]{24}/, /\/repo\/audit\/.*\.jsonl$/, /\/repo\/backups\/.*\/verify\/.*\.json$/, /\/repo\/lifeline\.json$/]) {
      expect(written.some((p) => expected.test(p)), `nothing matched ${expected}: ${written.join(', ')}`).toBe(true);
    }
    const clusterParents = new Set([home.home, path.join(home.home, 'data'), path.join(home.home, 'data', 'scratch')]);
    const allowed = (e: Entry) => (e.dir ? e.mode === 0o700 || (clusterParents.has(e.path) && e.mode === 0o701) : e.mode === 0o600);
    const wrong = entries.filter((e) => !allowed(e)).map((e) => `${e.path} ${e.mode.toString(8)}`);
    expect(wrong).toEqual([]);
  });
});

interface Entry {
  path: string;
  mode: number;
  dir: boolean;
}

function walk(root: string): Entry[] {
  const out: Entry[] = [];
  const visit = (p: string) => {
    const stat = fs.lstatSync(p);
    out.push({ path: p, mode: stat.mode & 0o7777, dir: stat.isDirectory() });
    if (stat.isDirectory()) for (const name of fs.readdirSync(p)) visit(path.join(p, name));
  };
  visit(root);
  return out;
}
