import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifelineError } from '../../src/errors.js';
import { candidateBinDirs, findTool, parseToolVersion } from '../../src/postgres/tools.js';

let fakeDir: string;
let emptyDir: string;

beforeAll(() => {
  fakeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-fake-bin-'));
  emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-empty-bin-'));
  fs.writeFileSync(path.join(fakeDir, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 12.1"\n', { mode: 0o755 });
  fs.writeFileSync(path.join(fakeDir, 'pg_restore'), '#!/bin/sh\necho "pg_restore (PostgreSQL) 17.2 (Homebrew)"\n', { mode: 0o755 });
});

afterAll(() => {
  fs.rmSync(fakeDir, { recursive: true, force: true });
  fs.rmSync(emptyDir, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<LifelineError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LifelineError);
  return error as LifelineError;
}

describe('parseToolVersion', () => {
  it('reads the version line of every flavour', () => {
    expect(parseToolVersion('pg_dump (PostgreSQL) 15.8 (Debian 15.8-1.pgdg120+1)\n')).toMatchObject({ number: '15.8', major: 15, minor: 8 });
    expect(parseToolVersion('postgres (PostgreSQL) 16beta2')).toMatchObject({ number: '16beta2', major: 16, minor: 0 });
    expect(parseToolVersion('psql (PostgreSQL) 9.6.24')).toMatchObject({ number: '9.6.24', major: 9, minor: 24 });
    expect(parseToolVersion('pg_dump (PostgreSQL) 17.2 (Homebrew)')?.text).toBe('pg_dump (PostgreSQL) 17.2 (Homebrew)');
    expect(parseToolVersion('something else 15.1')).toBeUndefined();
  });
});

describe('findTool', () => {
  it('finds the real PostgreSQL 15 tools, not the Debian wrapper', async () => {
    const pgDump = await findTool('pg_dump', { major: 15 });
    expect(pgDump.version.major).toBe(15);
    expect(fs.realpathSync(pgDump.path)).not.toMatch(/pg_wrapper$/);
    const initdb = await findTool('initdb', { major: 15, exact: true });
    expect(initdb.path).toMatch(/initdb$/);
    expect(initdb.version.major).toBe(15);
    for (const name of ['pg_restore', 'psql', 'pg_basebackup', 'pg_ctl', 'pg_verifybackup', 'pg_waldump', 'pg_controldata', 'pg_dumpall', 'postgres'] as const) {
      expect((await findTool(name, { major: 15 })).version.major).toBe(15);
    }
  });

  it('picks the newest when the server major is unknown, and caches', async () => {
    const a = await findTool('pg_dump');
    expect(a.version.major).toBeGreaterThanOrEqual(15);
    expect(await findTool('pg_dump')).toBe(a);
  });

  it('refuses a pg_dump older than the server', async () => {
    const env = { ...process.env, LIFELINE_PG_BINDIR: fakeDir };
    const error = await failure(findTool('pg_dump', { major: 15, env }));
    expect(error.code).toBe('TOOL_TOO_OLD');
    expect(error.message).toContain('12.1');
    expect(error.message).not.toContain('\n');
    expect(error.hint).toMatch(/postgresql-client-15|postgresql@15|postgresql15/);
    // Good enough for an older server.
    expect((await findTool('pg_dump', { major: 11, env })).version.major).toBe(12);
  });

  it('accepts a newer client tool, but not for an exact match', async () => {
    const env = { ...process.env, LIFELINE_PG_BINDIR: fakeDir };
    expect((await findTool('pg_restore', { major: 15, env })).version.number).toBe('17.2');
    expect((await failure(findTool('pg_restore', { major: 15, exact: true, env }))).code).toBe('TOOL_MISSING');
  });

  it('reports a missing tool with an install hint', async () => {
    const env = { ...process.env, LIFELINE_PG_BINDIR: emptyDir };
    const error = await failure(findTool('pg_basebackup', { major: 15, env }));
    expect(error.code).toBe('TOOL_MISSING');
    expect(error.hint).toContain(emptyDir);
    expect((await failure(findTool('initdb', { major: 15, env }))).hint).toMatch(/postgresql-15|postgresql@15|postgresql15/);
  });

  it('searches PATH first, then the versioned folders', () => {
    const dirs = candidateBinDirs({ major: 15, env: { PATH: '/a:/b' }, pgConfigBindir: '/c' });
    expect(dirs.slice(0, 4)).toEqual(['/a', '/b', '/c', '/usr/lib/postgresql/15/bin']);
    expect(dirs).toContain('/usr/pgsql-15/bin');
    expect(dirs).toContain('/opt/homebrew/opt/postgresql@15/bin');
    expect(candidateBinDirs({ env: { LIFELINE_PG_BINDIR: `/x${path.delimiter}/y`, PATH: '/a' } })).toEqual(['/x', '/y']);
  });
});
