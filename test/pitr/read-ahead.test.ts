import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cluster.js';
import { execa } from 'execa';
import { followingSegments, HISTORY_COMPLETE, HISTORY_FOLDER, segmentSizeOf, spoolDir } from '../../src/engine/wal/spool.js';
import { restoreCommand } from '../../src/engine/wal/command.js';
import { DEFAULT_SEGMENT_SIZE } from '../../src/engine/wal/names.js';

/*
 * wal-fetch's read-ahead, through the built CLI as PostgreSQL runs it (cwd = the data directory,
 * %p = pg_wal/RECOVERYXLOG): after one fetch, the following archived segments arrive in the spool
 * in the background, and the next calls are served from there even when the repository has gone.
 */
let root: string;
let repo: string;
let dataDir: string;
const segments = ['000000010000000000000003', '000000010000000000000004', '000000010000000000000005', '000000010000000000000006'];
const contents = new Map<string, Buffer>();

/** A file with a WAL long page header claiming 16 MiB segments, then random bytes. */
function segmentBytes(): Buffer {
  const bytes = randomBytes(64 * 1024);
  bytes.writeUInt16LE(0xd110, 0);
  bytes.writeUInt16LE(0x0002 | 0x0004, 2);
  bytes.writeUInt32LE(DEFAULT_SEGMENT_SIZE, 32);
  bytes.writeUInt32LE(8192, 36);
  return bytes;
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** restore_command as PostgreSQL runs it: through /bin/sh, in the data directory, %f and %p filled in. */
const restore = (dir: string, repository: string, name: string) =>
  execa('/bin/sh', ['-c', restoreCommand({ repo: repository }).replace(/%f/g, name).replace(/%p/g, 'pg_wal/RECOVERYXLOG')], { cwd: dir, reject: false });

/** A data directory as PostgreSQL leaves it for a recovery: pg_wal and recovery.signal. */
function inRecovery(dir: string): string {
  fs.mkdirSync(path.join(dir, 'pg_wal'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'recovery.signal'), '');
  return dir;
}

const fetch = (name: string, extra: string[] = []) => runCli(['wal-fetch', '--repo', repo, ...extra, name, 'pg_wal/RECOVERYXLOG'], { cwd: dataDir });
const fetched = () => fs.readFileSync(path.join(dataDir, 'pg_wal/RECOVERYXLOG'));

beforeAll(async () => {
  root = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'lifeline-read-ahead-'));
  repo = path.join(root, 'repo');
  dataDir = path.join(root, 'data');
  inRecovery(dataDir);
  const source = path.join(root, 'source');
  fs.mkdirSync(source);
  for (const name of segments) {
    contents.set(name, segmentBytes());
    fs.writeFileSync(path.join(source, name), contents.get(name)!);
    const push = await runCli(['wal-push', '--repo', repo, name], { cwd: source });
    expect(push.exitCode, push.stderr).toBe(0);
  }
});
afterAll(async () => {
  await fs.promises.rm(root, { recursive: true, force: true });
});

describe('wal-fetch read-ahead', () => {
  it('reads segment sizes from the WAL header and names the following segments across a log boundary', () => {
    const file = path.join(root, 'header');
    fs.writeFileSync(file, segmentBytes());
    expect(segmentSizeOf(file)).toBe(DEFAULT_SEGMENT_SIZE);
    fs.writeFileSync(file, Buffer.alloc(100));
    expect(segmentSizeOf(file)).toBe(DEFAULT_SEGMENT_SIZE);
    expect(followingSegments('0000000200000001000000FE', 3)).toEqual(['0000000200000001000000FF', '000000020000000200000000', '000000020000000200000001']);
    expect(followingSegments('00000002.history', 3)).toEqual([]);
  });

  it('spools the following archived segments, serves them without the repository, and never spools what is absent', async () => {
    const first = await fetch(segments[0]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(fetched().equals(contents.get(segments[0])!)).toBe(true);

    const spool = spoolDir(path.join(dataDir, 'pg_wal/RECOVERYXLOG'), repo);
    const spooled = () => (fs.existsSync(spool) ? fs.readdirSync(spool).filter((f) => !f.startsWith('.')) : []);
    await waitFor(() => spooled().length === 3 && !fs.existsSync(path.join(spool, '.prefetcher')), 'the prefetcher to spool 3 segments and finish');
    expect(spooled().sort()).toEqual(segments.slice(1));

    // The archive is gone: what was read ahead is still served, byte for byte.
    fs.renameSync(repo, `${repo}.away`);
    for (const name of segments.slice(1, 3)) {
      const result = await fetch(name);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(fetched().equals(contents.get(name)!)).toBe(true);
    }
    // Not read ahead, and no repository: a hard failure (126), never "not found".
    const missing = await fetch('000000010000000000000007');
    expect(missing.exitCode).toBe(126);
    fs.renameSync(`${repo}.away`, repo);

    const beyond = await fetch('000000010000000000000007');
    expect(beyond.exitCode).toBe(1);
    expect(spooled()).not.toContain('000000010000000000000007');
  });

  it('--read-ahead 0 fetches in the foreground only', async () => {
    const other = path.join(root, 'data-no-read-ahead');
    inRecovery(other);
    const result = await runCli(['wal-fetch', '--repo', repo, '--read-ahead', '0', segments[0], 'pg_wal/RECOVERYXLOG'], { cwd: other });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fs.existsSync(path.join(other, 'pg_wal', '.lifeline-prefetch'))).toBe(false);
    expect((await runCli(['wal-fetch', '--repo', repo, '--read-ahead', 'lots', segments[0], 'pg_wal/RECOVERYXLOG'], { cwd: other })).exitCode).toBe(126);
  });

  it('restore_command takes a spooled segment with one mv, without starting wal-fetch; anything else goes to wal-fetch', async () => {
    const dir = path.join(root, 'data-shell');
    inRecovery(dir);
    const gone = path.join(root, 'no-such-repo');
    const spool = spoolDir(path.join(dir, 'pg_wal/RECOVERYXLOG'), gone);
    fs.mkdirSync(spool, { recursive: true });
    fs.writeFileSync(path.join(spool, segments[1]), contents.get(segments[1])!);
    // The repository does not exist: only the spool can have answered.
    const taken = await restore(dir, gone, segments[1]);
    expect(taken.exitCode, taken.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'pg_wal/RECOVERYXLOG')).equals(contents.get(segments[1])!)).toBe(true);
    expect(fs.existsSync(path.join(spool, segments[1]))).toBe(false);
    // Not spooled: wal-fetch answers, and a missing repository stops recovery (126).
    const missing = await restore(dir, gone, segments[2]);
    expect(missing.exitCode).toBe(126);
    expect(missing.stderr).toMatch(/No lifeline repository/);
  });

  it('restore_command answers .history probes from the files pitr laid out: a copy each time, and "not archived" only once the list is complete', async () => {
    const dir = path.join(root, 'data-history');
    inRecovery(dir);
    // The repository does not exist: wal-fetch would answer 126, so 0 or 1 came from the shell.
    const gone = path.join(root, 'no-such-repo');
    const history = path.join(spoolDir(path.join(dir, 'pg_wal/RECOVERYXLOG'), gone), HISTORY_FOLDER);
    fs.mkdirSync(history, { recursive: true });
    fs.writeFileSync(path.join(history, '00000002.history'), '1\t0/3000000\tno recovery target specified\n');
    fs.writeFileSync(path.join(history, HISTORY_COMPLETE), '');
    for (let read = 0; read < 2; read++) {
      const copied = await restore(dir, gone, '00000002.history');
      expect(copied.exitCode, copied.stderr).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'pg_wal/RECOVERYXLOG'), 'utf8')).toMatch(/^1\t0\/3000000/);
    }
    const absent = await restore(dir, gone, '00000003.history');
    expect(absent.exitCode).toBe(1);
    expect(absent.stderr).toBe('');
    // Without the mark of a complete list, an unlisted history file is the repository's to answer.
    const source = path.join(root, 'source-history');
    fs.mkdirSync(source);
    fs.writeFileSync(path.join(source, '00000003.history'), '2\t0/5000000\tbefore the incident\n');
    expect((await runCli(['wal-push', '--repo', repo, '00000003.history'], { cwd: source })).exitCode).toBe(0);
    fs.mkdirSync(path.join(spoolDir(path.join(dir, 'pg_wal/RECOVERYXLOG'), repo), HISTORY_FOLDER), { recursive: true });
    const asked = await restore(dir, repo, '00000003.history');
    expect(asked.exitCode, asked.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'pg_wal/RECOVERYXLOG'), 'utf8')).toMatch(/before the incident/);
  });

  it('one prefetcher keeps its window moving while recovery takes segments, then stops at the end of the archive', async () => {
    const run = Array.from({ length: 10 }, (_, i) => `0000000100000000000000${(0x20 + i).toString(16).toUpperCase()}`);
    const source = path.join(root, 'source-run');
    fs.mkdirSync(source);
    for (const name of run) {
      contents.set(name, segmentBytes());
      fs.writeFileSync(path.join(source, name), contents.get(name)!);
      expect((await runCli(['wal-push', '--repo', repo, name], { cwd: source })).exitCode).toBe(0);
    }
    const dir = path.join(root, 'data-run');
    inRecovery(dir);
    const spool = spoolDir(path.join(dir, 'pg_wal/RECOVERYXLOG'), repo);
    const lock = path.join(spool, '.prefetcher');
    const first = await runCli(['wal-fetch', '--repo', repo, '--read-ahead', '3', run[0], 'pg_wal/RECOVERYXLOG'], { cwd: dir });
    expect(first.exitCode, first.stderr).toBe(0);
    await waitFor(() => fs.existsSync(lock), 'the prefetcher to start');
    const prefetcher = fs.readFileSync(lock, 'utf8');
    for (const name of run.slice(1)) {
      await waitFor(() => fs.existsSync(path.join(spool, name)), `${name} in the spool`);
      // Never more than the window ahead of what recovery has taken.
      expect(fs.readdirSync(spool).filter((f) => !f.startsWith('.')).length).toBeLessThanOrEqual(3);
      const taken = await restore(dir, repo, name);
      expect(taken.exitCode, taken.stderr).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'pg_wal/RECOVERYXLOG')).equals(contents.get(name)!)).toBe(true);
    }
    // The same prefetcher served the whole run, and left when the archive had no more.
    expect(fs.existsSync(lock) ? fs.readFileSync(lock, 'utf8') : prefetcher).toBe(prefetcher);
    await waitFor(() => !fs.existsSync(lock), 'the prefetcher to stop at the end of the archive');
  });

  it('a prefetcher leaves when the server is promoted (no recovery.signal), and spools nothing for a data directory out of recovery', async () => {
    const dir = inRecovery(path.join(root, 'data-promoted'));
    const spool = spoolDir(path.join(dir, 'pg_wal/RECOVERYXLOG'), repo);
    const prefetcher = runCli(['wal-prefetch', '--repo', repo, spool, ...segments.slice(1, 3)], { cwd: dir });
    // The window is full and nothing takes from it: it would idle for a minute.
    await waitFor(() => fs.existsSync(path.join(spool, segments[2])) && fs.existsSync(path.join(spool, segments[1])), 'the window to fill');
    fs.rmSync(path.join(dir, 'recovery.signal'));
    await waitFor(() => !fs.existsSync(path.join(spool, '.prefetcher')), 'the prefetcher to leave');
    expect((await prefetcher).exitCode).toBe(0);

    const promoted = path.join(root, 'data-out-of-recovery');
    fs.mkdirSync(path.join(promoted, 'pg_wal'), { recursive: true });
    const late = await runCli(['wal-prefetch', '--repo', repo, spoolDir(path.join(promoted, 'pg_wal/RECOVERYXLOG'), repo), segments[1]], { cwd: promoted });
    expect(late.exitCode, late.stderr).toBe(0);
    expect(fs.readdirSync(path.join(promoted, 'pg_wal'))).toEqual([]);
  });
});
