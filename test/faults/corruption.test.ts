import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { openRepository } from '../../src/storage/open-repository.js';
import { sealJson } from '../../src/storage/sealed-json.js';
import { checkIntegrity } from '../../src/engine/verify/integrity.js';
import type { CliResult } from '../helpers/cluster.js';
import { expectClearError, faultSeed, filesUnder, prng, serverNow, startFaultEnv, switchAndArchive, type FaultEnv } from './helpers.js';

/*
 * A flipped bit and a truncation in every kind of object the repository stores, each on its own
 * copy of one repository: the command that reads it (verify, restore, pitr, wal-fetch, list)
 * names the damaged file and what is wrong with it and exits non-zero, never a silent success;
 * what is not damaged still lists and verifies. Flip offsets come from a seeded PRNG.
 */
const seed = faultSeed();
const random = prng(seed);

let env: FaultEnv;
let logical: string;
let base: string;
let target: string;
/** A WAL segment archived after the base backup, which recovery to `target` replays. */
let segment: string;
let copies = 0;

beforeAll(async () => {
  env = await startFaultEnv({ archiving: true });
  logical = await env.backup('--verify', 'archive');
  base = await env.backup('--physical', '--verify', 'none');
  await withClient(env.conn, (c) => c.query("CREATE TABLE phases (id int, phase text); INSERT INTO phases VALUES (1, 'A')"));
  segment = await switchAndArchive(env);
  target = await serverNow(env.conn);
  await withClient(env.conn, (c) => c.query("INSERT INTO phases VALUES (2, 'B')"));
  await switchAndArchive(env);
}, 180_000);
afterAll(() => env?.cleanup());

/** A private copy of the repository (ownership kept: the server user reads wal/ during pitr). */
async function copyRepo(): Promise<string> {
  const copy = path.join(env.pg.root, `copy-${++copies}`);
  await execa('cp', ['-a', env.repo, copy]);
  return copy;
}

type Damage = 'flip' | 'truncate';

function damage(file: string, how: Damage): void {
  const bytes = fs.readFileSync(file);
  if (how === 'truncate') return fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * random())));
  bytes[Math.floor(random() * bytes.length)] ^= 1 << Math.floor(random() * 8);
  fs.writeFileSync(file, bytes);
}

const backupFile = (repo: string, id: string, prefix: string) => {
  const dir = path.join(repo, 'backups', id);
  return path.join(dir, fs.readdirSync(dir).find((name) => name.startsWith(prefix))!);
};
const recordFile = (repo: string, id: string) => path.join(repo, 'backups', id, 'verify', fs.readdirSync(path.join(repo, 'backups', id, 'verify'))[0]);
const walFile = (repo: string) => path.join(repo, filesUnder(repo).find((f) => f.startsWith('wal/') && path.basename(f).startsWith(segment))!);

const cliOn = (repo: string, ...args: string[]) => env.cli('--repo', repo, ...args);

/** A failed verification: exit 1, the failed check on stdout, one error line and a hint on stderr. */
function expectVerifyFails(result: CliResult, detail: RegExp): void {
  expectClearError(result, 1, /failed verification at level integrity/);
  expect(result.stdout).toMatch(detail);
  expect(result.stderr).toMatch(detail);
}

/** The backups not damaged still list and pass integrity (nothing lost). */
async function expectOthersIntact(repo: string, damaged: string[], listed: string[] = [logical, base].filter((id) => !damaged.includes(id))) {
  const list = await cliOn(repo, '--json', 'list');
  expect(list.exitCode, list.stderr).toBe(0);
  const ids = (JSON.parse(list.stdout).backups as { id: string }[]).map((b) => b.id);
  for (const id of listed) expect(ids).toContain(id);
  const repository = await openRepository(repo);
  for (const id of [logical, base].filter((id) => !damaged.includes(id))) {
    expect((await checkIntegrity({ repo: repository, manifest: await repository.readManifest(id) })).filter((c) => !c.ok)).toEqual([]);
  }
}

const sizeOrHash = (name: string, how: Damage) =>
  new RegExp(`object ${name.replace(/\./g, '\\.')}\\S*: ${how === 'flip' ? 'sha256 [0-9a-f]{64} differs from the manifest' : 'size \\d+ bytes, manifest says \\d+'}`);

describe(`corrupted objects (FAULT_SEED=${seed})`, { timeout: 120_000 }, () => {
  const kinds: Damage[] = ['flip', 'truncate'];

  it.each(kinds)(`the dump (%s): verify names it, restore refuses before creating anything (seed ${seed})`, async (how) => {
    const repo = await copyRepo();
    damage(backupFile(repo, logical, 'data.dump'), how);
    expectVerifyFails(await cliOn(repo, 'verify', logical, '--level', 'integrity'), sizeOrHash('data.dump', how));
    const restore = await cliOn(repo, 'restore', logical, '--into', 'never_created', '--yes');
    expectClearError(restore, 1, /failed its integrity check: object data\.dump/);
    await expectOthersIntact(repo, [logical], [logical, base]);
  });

  it.each(kinds)(`the roles file globals.sql (%s): verify names it (restore checks the same way) (seed ${seed})`, async (how) => {
    const repo = await copyRepo();
    damage(backupFile(repo, logical, 'globals.sql'), how);
    expectVerifyFails(await cliOn(repo, 'verify', logical, '--level', 'integrity'), sizeOrHash('globals.sql', how));
    await expectOthersIntact(repo, [logical], [logical, base]);
  });

  it.each(kinds)(`the base backup tar (%s): verify names it, pitr stops naming it and leaves no data directory (seed ${seed})`, async (how) => {
    const repo = await copyRepo();
    damage(backupFile(repo, base, 'base.tar'), how);
    expectVerifyFails(await cliOn(repo, 'verify', base, '--level', 'integrity'), sizeOrHash('base.tar', how));
    const dataDir = path.join(env.pg.root, `never-${copies}`);
    const pitr = await cliOn(repo, 'pitr', '--to', target, '--data-dir', dataDir, '--yes');
    expectClearError(pitr, 1, new RegExp(`Base backup ${base}: base\\.tar\\S* is corrupt \\(`));
    expect(fs.existsSync(dataDir)).toBe(false);
    await expectOthersIntact(repo, [base], [logical, base]);
  });

  it.each(kinds)(`PostgreSQL's backup_manifest (%s): verify names it (seed ${seed})`, async (how) => {
    const repo = await copyRepo();
    damage(backupFile(repo, base, 'backup_manifest'), how);
    expectVerifyFails(await cliOn(repo, 'verify', base, '--level', 'integrity'), sizeOrHash('backup_manifest', how));
    await expectOthersIntact(repo, [base], [logical, base]);
  });

  it.each(kinds)(`a WAL segment (%s): wal-fetch fails hard (126) naming it (seed ${seed})`, async (how) => {
    const repo = await copyRepo();
    damage(walFile(repo), how);
    const dest = path.join(env.pg.root, `fetched-${copies}`);
    const fetch = await cliOn(repo, 'wal-fetch', segment, dest);
    expectClearError(fetch, 126, new RegExp(`wal/0+1/${segment}\\S* is corrupt \\(`));
    expect(fs.existsSync(dest)).toBe(false);
    await expectOthersIntact(repo, []);
  });

  it.each(kinds)(`a backup manifest (%s): list reports it, verify and restore refuse with REPO_CORRUPT (seed ${seed})`, async (how) => {
    const repo = await copyRepo();
    damage(path.join(repo, 'backups', logical, 'manifest.json'), how);
    const list = await cliOn(repo, '--json', 'list');
    expect(list.exitCode, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout);
    expect(listed.backups.map((b: { id: string }) => b.id)).toEqual([base]);
    expect(listed.problems).toEqual([expect.objectContaining({ id: logical, code: 'REPO_CORRUPT', key: `backups/${logical}/manifest.json` })]);
    const message = new RegExp(`Backup manifest is corrupt: .*backups/${logical}/manifest\\.json \\((checksum mismatch|not JSON)`);
    expectClearError(await cliOn(repo, how === 'flip' ? 'verify' : 'restore', logical, ...(how === 'flip' ? ['--level', 'integrity'] : ['--into', 'never_created', '--yes'])), 1, message);
    await expectOthersIntact(repo, [logical]);
  });

  it.each(kinds)(`a verification record (%s): list reports it and the backup no longer counts as verified (seed ${seed})`, async (how) => {
    const repo = await copyRepo();
    const record = recordFile(repo, logical);
    damage(record, how);
    const list = await cliOn(repo, '--json', 'list');
    expect(list.exitCode, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout);
    expect(listed.backups.find((b: { id: string }) => b.id === logical).verifiedLevel ?? null).toBeNull();
    expect(listed.problems).toEqual([expect.objectContaining({ code: 'REPO_CORRUPT', key: path.relative(repo, record), message: expect.stringMatching(/Verification record is corrupt/) })]);
    expectClearError(await cliOn(repo, 'restore', 'latest-verified', '--into', 'never_created', '--yes'), 1, /No logical backup .* has passed verification/);
    await expectOthersIntact(repo, []);
  });

  it.each(kinds)(`lifeline.json (%s): every command names it, and the hint says how to recover (seed ${seed})`, async (how) => {
    const repo = await copyRepo();
    damage(path.join(repo, 'lifeline.json'), how);
    const list = await cliOn(repo, 'list');
    expectClearError(list, 1, /Repository description is corrupt: .*lifeline\.json/);
    expect(list.stderr).toMatch(/hint: .*lifeline\.json/);
    // The hint holds: with it moved aside, the repository reads again and nothing was lost.
    fs.renameSync(path.join(repo, 'lifeline.json'), path.join(repo, '..', `lifeline.json.damaged-${copies}`));
    if (how === 'flip') {
      const backup = await cliOn(repo, 'backup', '--verify', 'none');
      expect(backup.exitCode, backup.stderr).toBe(0);
    }
    await expectOthersIntact(repo, []);
  });

  it(`a manifest that lies about a size (well-formed, checksum intact): verify and restore catch it (seed ${seed})`, async () => {
    const repo = await copyRepo();
    const file = path.join(repo, 'backups', logical, 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    const dump = manifest.objects.find((o: { name: string }) => o.name.startsWith('data.dump'));
    dump.size += 1 + Math.floor(random() * 1000);
    fs.writeFileSync(file, sealJson(manifest));
    expectVerifyFails(await cliOn(repo, 'verify', logical, '--level', 'integrity'), new RegExp(`object ${dump.name.replace(/\./g, '\\.')}: size \\d+ bytes, manifest says ${dump.size}`));
    expectClearError(await cliOn(repo, 'restore', logical, '--into', 'never_created', '--yes'), 1, /failed its integrity check: .*manifest says/);
    await expectOthersIntact(repo, [logical], [logical, base]);
  });
});
