import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spoolDir, spoolRoot, stopPrefetchers } from '../../src/engine/wal/spool.js';

/*
 * When recovery is over, lifeline pitr removes the spool while a prefetcher may still be writing
 * into it. A stand-in prefetcher (its command line names wal-prefetch, as the real one's does)
 * claims the spool and then writes files as fast as it can, the worst case for the removal.
 */
const busyPrefetcher = `
const fs = require('node:fs');
const spool = process.argv[1];
fs.writeFileSync(spool + '/.prefetcher', String(process.pid));
for (let i = 0; ; i++) {
  try { fs.writeFileSync(spool + '/.seg' + (i % 50) + '.lifeline-tmp', 'x'.repeat(4096)); fs.renameSync(spool + '/.seg' + (i % 50) + '.lifeline-tmp', spool + '/SEG' + (i % 50)); } catch {}
}`;

let root: string | undefined;
afterEach(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('stopPrefetchers', () => {
  it('ends a prefetcher busy writing into its spool, waits for it, and removes every spool', async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-stop-prefetchers-'));
    const dataDir = path.join(root, 'data');
    const spools = ['repo-a', 'repo-b'].map((repo) => spoolDir(path.join(dataDir, 'pg_wal/RECOVERYXLOG'), path.join(root!, repo)));
    for (const spool of spools) fs.mkdirSync(spool, { recursive: true });
    const children = spools.map((spool) => spawn(process.execPath, ['-e', busyPrefetcher, spool, 'wal-prefetch'], { stdio: 'ignore' }));
    const exits = children.map((child) => new Promise<string | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal))));
    const deadline = Date.now() + 30_000;
    while (!spools.every((spool) => fs.existsSync(path.join(spool, 'SEG1')))) {
      if (Date.now() > deadline) throw new Error('the stand-in prefetchers did not start writing');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }

    await stopPrefetchers(dataDir);

    expect(fs.existsSync(spoolRoot(dataDir))).toBe(false);
    expect(fs.readdirSync(path.join(dataDir, 'pg_wal'))).toEqual([]);
    expect(await Promise.all(exits)).toEqual(['SIGKILL', 'SIGKILL']);
  });

  it('does nothing when there is no spool', async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-stop-prefetchers-'));
    await expect(stopPrefetchers(path.join(root, 'data'))).resolves.toBeUndefined();
  });
});
