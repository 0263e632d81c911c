import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../../src/storage/local-store.js';
import { Repository } from '../../src/storage/repository.js';
import type { Manifest } from '../../src/storage/manifest.js';
import { walPush } from '../../src/engine/wal/push.js';
import { recoverableWindow } from '../../src/engine/wal/window.js';
import { segmentName } from '../../src/engine/wal/names.js';

/*
 * Synthetic archives (no server): the window's bookkeeping of timelines and gaps. The files are
 * not real WAL, so commit times cannot be read: those backups show up as unusable, which is
 * also what a real archive with unreadable WAL must do.
 */
let root: string;

beforeAll(async () => {
  root = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'lifeline-window-'));
});
afterAll(async () => {
  await fs.promises.rm(root, { recursive: true, force: true });
});

async function archive(name: string, segments: string[], histories: Record<string, string> = {}): Promise<Repository> {
  const store = new LocalStore({ root: path.join(root, name, 'repo') });
  const dir = path.join(root, name, 'pg_wal');
  fs.mkdirSync(dir, { recursive: true });
  for (const file of segments) {
    fs.writeFileSync(path.join(dir, file), `fake ${file}`);
    await walPush({ store, file: path.join(dir, file), compression: 'gzip' });
  }
  for (const [file, text] of Object.entries(histories)) {
    fs.writeFileSync(path.join(dir, file), text);
    await walPush({ store, file: path.join(dir, file), compression: 'gzip' });
  }
  const repo = new Repository(store);
  const id = await repo.reserveBackupId({ label: 'pitr', time: new Date('2026-01-01T00:00:00Z') });
  const put = await repo.putBackupObject(id, 'base.tar', 'not a tar');
  const manifest: Manifest = {
    formatVersion: 1,
    id,
    kind: 'base',
    label: 'pitr',
    operator: 'test',
    host: 'test',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:05.000Z',
    serverVersion: 'PostgreSQL 15',
    serverVersionNum: 150000,
    toolVersions: {},
    timeline: 1,
    startLsn: '0/1000028',
    stopLsn: '0/1000100',
    compression: { algorithm: 'none' },
    objects: [{ name: 'base.tar', size: put.size, sha256: put.sha256 }],
    extra: { walSegmentSize: 16 * 1024 * 1024 },
  };
  await repo.writeManifest(manifest);
  return repo;
}

const tl1 = (n: number) => segmentName(1, n);
const tl2 = (n: number) => segmentName(2, n);

describe('recoverable window bookkeeping', () => {
  it('follows a timeline switch through its .history file', async () => {
    const repo = await archive('switch', [tl1(1), tl1(2), tl1(3), tl1(4), tl2(4), tl2(5), tl2(6)], {
      '00000002.history': '1\t0/4000A28\tbefore 2026-01-01 00:10:00+00\n',
    });
    const window = await recoverableWindow(repo);
    expect(window.latestTimeline).toBe(2);
    expect(window.timelines).toEqual([{ timeline: 2, parent: 1, switchLsn: '0/4000A28' }]);
    expect(window.gaps).toEqual([]);
    expect(window.archivedFiles).toBe(8);
    // Fake WAL has no readable commits: the backup is named as unusable, with the reason.
    expect(window.ranges).toEqual([]);
    expect(window.unusable[0].reason).toMatch(/commit/);
  });

  it('names missing segments along the path, and a backup whose own WAL is missing', async () => {
    const repo = await archive('gaps', [tl1(2), tl1(3), tl1(6), tl1(7), tl2(9)], { '00000002.history': '1\t0/8000000\tno reason\n' });
    const window = await recoverableWindow(repo);
    expect(window.gaps).toEqual([
      { timeline: 1, from: tl1(1), to: tl1(1), count: 1 },
      { timeline: 1, from: tl1(4), to: tl1(5), count: 2 },
      { timeline: 2, from: tl2(8), to: tl2(8), count: 1 },
    ]);
    expect(window.unusable).toEqual([{ baseBackupId: expect.any(String), reason: `WAL segment ${tl1(1)} (needed to make it consistent) is not archived` }]);
  });
});
