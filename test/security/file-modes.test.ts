import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveCommand } from '../../src/engine/wal/command.js';
import { shareRepositoryWithServer } from '../../src/engine/wal/archiving.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { repoRoot, seeded, startTestCluster, tempHome, type CliResult, type TempHome, type TestCluster } from '../helpers/cluster.js';
import { dbUrl } from '../engine/helpers.js';

/*
 * Issue #9 item 3: whatever the umask, every file lifeline writes is 0600 and every folder 0700,
 * in the repository and under LIFELINE_HOME. A realistic day runs through the built CLI with
 * umask 000 (the most permissive), the server archiving through `lifeline wal-push` under the same
 * umask, then the repository and the home are walked. Disposable clusters (verify's) must be
 * gone by the end; the one exception left is the o+x (search, not read) that lifeline adds to the
 * folders above its clusters (home, data, scratch) so the postgres user can reach them. The
 * repository is private even where the server's user writes into it (wal/).
 */
let pg: TestCluster;
let home: TempHome;
let url: string;
let repo: string;

function cli(args: string[]): Promise<CliResult> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', NO_COLOR: '1', CI: '1', LIFELINE_OPERATOR: 'ci-bot', ...home.env };
  return execa('sh', ['-c', 'umask 000 && exec "$@"', 'sh', process.execPath, path.join(repoRoot, 'bin/lifeline.js'), ...args], {
    env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: 120_000,
  }).then((r) => ({ exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) }));
}

async function ok(args: string[]): Promise<CliResult> {
  const result = await cli(args);
  expect(result.exitCode, `lifeline ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result;
}

beforeAll(async () => {
  home = await tempHome();
  const base = fs.mkdtempSync(path.join('/tmp', 'lifeline-modes-'));
  repo = path.join(base, 'repo');
  await shareRepositoryWithServer(new LocalStore({ root: repo }), repo);
  fs.rmSync(path.join(repo, 'lifeline.json')); // the CLI writes it, under its umask
  const umask = process.umask(0); // the server, and so archive_command, inherit it
  try {
    pg = await startTestCluster({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand({ repo }) } });
  } finally {
    process.umask(umask);
  }
  await seeded(pg, { rows: 2000 });
  url = dbUrl(pg, 'shop');
}, 120_000);
afterAll(async () => {
  await home?.cleanup();
  await pg?.cleanup();
  if (repo) fs.rmSync(path.dirname(repo), { recursive: true, force: true });
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

describe('file modes under a permissive umask', { timeout: 180_000 }, () => {
  it('a day of backups, verification, restore, WAL, a runbook, status and prune leaves only 0600 files and 0700 folders', async () => {
    await ok(['config', 'set', 'targets.shop', JSON.stringify({ url })]);
    await ok(['config', 'set', 'repository.url', repo]);
    await ok(['config', 'set', 'policy.retention.daily', JSON.stringify({ days: 7, keepLast: 1 })]);
    const logical = JSON.parse((await ok(['--json', 'backup', '--verify', 'archive'])).stdout).backup.id as string;
    await ok(['backup', '--physical', '--verify', 'archive']);
    await ok(['verify', logical, '--level', 'consistency']);
    await ok(['restore', logical, '--into', 'shop_copy', '--jobs', '2', '--yes']);

    const runbook = path.join(pg.root, 'day.yaml');
    fs.writeFileSync(runbook, 'id: day\ntitle: Day\nsteps:\n  - { id: b, title: Backup, action: backup, with: { label: drill } }\n');
    await ok(['run', runbook, '--plain', '--yes']);
    await ok(['maintenance', 'on']);
    await ok(['maintenance', 'off']);
    await cli(['status']); // exit 1 or 3 is a verdict on the policy, not a failure of the command
    await ok(['prune', '--yes']);

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
