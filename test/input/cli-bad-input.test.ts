import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempHome, type TempHome } from '../helpers/cluster.js';

/*
 * Bad input through the built CLI: each is refused with exit 2 (usage), one error line and a
 * hint, before anything is touched, and never with a stack trace.
 */
let home: TempHome;
beforeAll(async () => {
  home = await tempHome();
});
afterAll(() => home?.cleanup());

function expectUsage(result: { exitCode: number; stdout: string; stderr: string }, message: RegExp): void {
  const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
  expect(result.exitCode, result.stderr).toBe(2);
  expect(result.stderr).not.toMatch(/internal error|^\s+at /m);
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(message);
  expect(lines[1]).toMatch(/^(hint: |\(run with --help for usage\))/);
}

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env: { ...home.env, ...env } });

describe('bad input on the command line', () => {
  it('a backup id that is a path', async () => {
    expectUsage(await cli(['restore', '../../etc']), /Not a backup id: "..\/..\/etc"/);
  });

  it('a --db URL whose database name is SQL', async () => {
    expectUsage(await cli(['--db', "postgres://x/'; DROP TABLE x;--", 'backup']), /database name .* is refused: it contains "'"/);
  });

  it('a recovery target that is not on the calendar', async () => {
    expectUsage(await cli(['pitr', '--to', '2025-02-30 10:00:00', '--into', 'x']), /2025-02-30 is not a date/);
  });

  it('a backup label that is not one of the labels', async () => {
    expectUsage(await cli(['backup', '--label', 'a;b']), /'a;b' is invalid. Allowed choices are/);
  });

  it('a malformed runbook file', async () => {
    const file = path.join(home.home, 'bad.yaml');
    fs.writeFileSync(file, 'id: broken\nsteps: [unclosed\n');
    expectUsage(await cli(['run', file, '--plain', '--yes']), /Invalid runbook: .*bad\.yaml:\d+:\d+: YAML: /);
    // "Billion laughs": nine aliases of nine aliases of ..., six levels deep.
    const levels = 'abcdef'.split('');
    fs.writeFileSync(file, levels.map((name, i) => `${name}: &${name} [${Array(9).fill(i ? `*${levels[i - 1]}` : 'x').join(', ')}]`).join('\n'));
    expectUsage(await cli(['run', file, '--plain', '--yes']), /YAML: Excessive alias count/);
  });

  it('a config file that is not JSON, and one that is not an object; config path still answers', async () => {
    const other = await tempHome();
    try {
      const file = path.join(other.home, 'config', 'config.json');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, '{"backup": {');
      expectUsage(await runCli(['list'], { env: other.env }), /Cannot read the config file .*config\.json/);
      const where = await runCli(['config', 'path'], { env: other.env });
      expect(where.exitCode).toBe(0);
      expect(where.stdout.trim()).toBe(file);
      fs.writeFileSync(file, '["x"]');
      expectUsage(await runCli(['list'], { env: other.env }), /holds an array, not a JSON object/);
    } finally {
      await other.cleanup();
    }
  });

  it('numbers, names and keys that only look right', async () => {
    expectUsage(await cli(['restore', 'latest', '--jobs', '1e3']), /--jobs takes a whole number from 1 to 64, not "1e3"/);
    expectUsage(await cli(['restore', 'latest', '--into', '../x']), /--into "..\/x" is refused: it contains "\/"/);
    expectUsage(await cli(['--target', '__proto__', 'backup']), /Unknown target "__proto__"/);
    expectUsage(await cli(['config', 'set', '__proto__.polluted', '1']), /Not a config key/);
    expectUsage(await cli(['run', 'drill', '--param', 'backup=../../etc', '--plain', '--yes']), /Not a backup id/);
  });

  it('a password in a URL for the config file is refused and not echoed', async () => {
    const result = await cli(['config', 'set', 'targets.prod.url', 'postgresql://app:Hunter2-secret@db.example.com/shop']);
    expectUsage(result, /does not store passwords/);
    expect(result.stdout + result.stderr).not.toContain('Hunter2-secret');
    expect(fs.existsSync(path.join(home.home, 'config', 'config.json')) && fs.readFileSync(path.join(home.home, 'config', 'config.json'), 'utf8')).not.toContain('Hunter2');
  });
});
