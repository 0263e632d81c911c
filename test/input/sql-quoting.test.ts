import { execa } from 'execa';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { dbnameArg, toolEnv } from '../../src/postgres/conninfo.js';
import { findTool } from '../../src/postgres/tools.js';
import { quoteIdent, quoteLiteral } from '../../src/engine/backup/fingerprint.js';
import { evaluateAssertion } from '../../src/runbook/sql-assertion.js';
import { checkRunbookText } from '../../src/runbook/loader.js';
import { createBuiltinRegistry } from '../../src/runbook/builtins.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

/*
 * Every identifier lifeline puts into SQL text goes through quoteIdent, every string constant
 * through quoteLiteral, and a database name handed to a pg tool through dbnameArg. A real server
 * reads each back as exactly the value it was given.
 */
let pg: TestCluster;
beforeAll(async () => {
  pg = await startTestCluster();
});
afterAll(() => pg?.cleanup());

/** Anything PostgreSQL can hold in a name: no NUL, at most 63 bytes. */
const identifier = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
    fc.constantFrom('"', '""', 'a"b', "x'; DROP TABLE x;--", 'select', 'Mixed Case', '../x', '\\', ' ', '$1', 'e\u0301'),
  )
  .filter((name) => name.isWellFormed() && !name.includes('\u0000') && Buffer.byteLength(name) <= 63);
const text = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom("'", "\\'", "\\\\'; DROP TABLE x; --", 'E\'\\x41\'', '$$', '\\')).filter((s) => s.isWellFormed() && !s.includes('\u0000'));

describe('SQL quoting against a real server', () => {
  it('a quoted identifier names exactly the given name (as a column alias and through parse_ident)', async () => {
    await withClient(pg.conn('postgres'), async (client) => {
      await fc.assert(
        fc.asyncProperty(identifier, async (name) => {
          const result = await client.query(`SELECT 1 AS ${quoteIdent(name)}`);
          expect(result.fields[0].name).toBe(name);
          const { rows } = await client.query<{ parts: string[] }>('SELECT parse_ident($1) AS parts', [quoteIdent(name)]);
          expect(rows[0].parts).toEqual([name]);
        }),
        { numRuns: 150 },
      );
    });
  });

  it('a quoted literal reads back unchanged, whatever standard_conforming_strings says', async () => {
    await withClient(pg.conn('postgres'), async (client) => {
      for (const setting of ['on', 'off']) {
        await client.query(`SET standard_conforming_strings = ${setting}`);
        await client.query('SET escape_string_warning = off');
        await fc.assert(
          fc.asyncProperty(text, async (value) => {
            const { rows } = await client.query<{ v: string }>(`SELECT ${quoteLiteral(value)}::text AS v`);
            expect(rows[0].v).toBe(value);
          }),
          { numRuns: 100 },
        );
      }
    });
  });

  it('a pg tool given dbnameArg(name) connects to exactly that database, even when the name reads like a connection string', async () => {
    const psql = await findTool('psql', { major: pg.major });
    // CREATE DATABASE is slow: a few random names, and every name that once fooled libpq.
    const examples: [string][] = [['dbname=postgres'], ['host=/nonexistent dbname=x'], ["a'b\\c"], ['postgresql://x'], ['x y=z']];
    await fc.assert(
      fc.asyncProperty(identifier, async (name) => {
        await withClient(pg.conn('postgres'), (client) => client.query(`CREATE DATABASE ${quoteIdent(name)}`));
        try {
          // Compared as hex: psql prints some code points (noncharacters such as U+10FFFE) as nothing.
          const result = await execa(psql.path, ['--no-psqlrc', '--no-password', '-At', '-c', "SELECT encode(convert_to(current_database(), 'UTF8'), 'hex')", dbnameArg(name)], {
            env: toolEnv({ ...pg.conn(), database: undefined }),
            extendEnv: false,
            reject: false,
          });
          expect(result.stderr).toBe('');
          expect(result.stdout).toBe(Buffer.from(name).toString('hex'));
        } finally {
          await withClient(pg.conn('postgres'), (client) => client.query(`DROP DATABASE ${quoteIdent(name)}`));
        }
      }),
      { numRuns: 5 + examples.length, examples },
    );
  });
});

describe('runbook SQL assertions', () => {
  it('run one read-only statement: a second statement cannot end the read-only transaction', async () => {
    await withClient(pg.conn('postgres'), (client) => client.query('CREATE TABLE IF NOT EXISTS keep (x int)'));
    const services = { env: process.env, connect: async () => ({ conn: pg.conn('postgres'), label: 'test', sandbox: false }) };
    const signal = new AbortController().signal;
    for (const sql of ['SELECT true; COMMIT; DROP TABLE keep', 'COMMIT; DROP TABLE keep; SELECT true']) {
      await expect(evaluateAssertion({ sql }, services, signal)).rejects.toThrow(/multiple commands|cannot insert/);
    }
    await expect(evaluateAssertion({ sql: 'DROP TABLE keep' }, services, signal)).rejects.toThrow(/read-only transaction/);
    expect((await evaluateAssertion({ sql: "SELECT to_regclass('keep') IS NOT NULL" }, services, signal)).ok).toBe(true);
  });

  it('a runbook may not build SQL from templates', () => {
    const text = `id: t
title: t
params: { order: { type: text } }
steps:
  - id: a
    title: a
    action: sql.assert
    with: { sql: "SELECT count(*) = 1 FROM orders WHERE id = {{params.order}}" }
`;
    const result = checkRunbookText({ text, file: 't.yaml', registry: createBuiltinRegistry() });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.map((p) => `${p.path}: ${p.message}`)).toContain('steps[0].with.sql: templates ({{...}}) are not allowed in `sql`: a query runs exactly as written, so no value can change it');
  });
});
