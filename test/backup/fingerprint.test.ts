import { afterAll, beforeAll, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { dumpedTables, fingerprintTables, recordedMethods } from '../../src/engine/backup/fingerprint.js';
import { createDatabase, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import type { ConnInfo } from '../../src/postgres/conninfo.js';

let pg: TestCluster;
let db: ConnInfo;
beforeAll(async () => {
  pg = await startTestCluster();
  db = await createDatabase(pg, 'fp');
  await withClient(db, (c) =>
    c.query(`CREATE TABLE plain (id int PRIMARY KEY, name text, price numeric(8,2), at timestamptz);
             INSERT INTO plain SELECT g, 'n' || g, g / 7.0, '2026-01-01'::timestamptz + g * interval '1 min' FROM generate_series(1, 500) g;
             CREATE TABLE docs (id int, body json, spot point);
             INSERT INTO docs SELECT g, json_build_object('g', g), point(g, g) FROM generate_series(1, 50) g;
             CREATE TYPE mood AS ENUM ('sad', 'ok');
             CREATE DOMAIN sku AS text CHECK (VALUE <> '');
             CREATE TABLE odd ("a$'b" int, "we""ird" text, m mood, s sku, tags text[], b bytea, ok bool, d date, u uuid);
             INSERT INTO odd VALUES (1, 'x', 'ok', 'S-1', '{a,b}', '\\x00ff', true, 'infinity', gen_random_uuid()),
                                    (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);`),
  );
});
afterAll(() => pg?.cleanup());

const fingerprints = (methods?: Parameters<typeof recordedMethods>[0]) =>
  withClient(db, async (c) => fingerprintTables(c, await dumpedTables(c), methods ? { methods: recordedMethods(methods) } : {}));
const byTable = (list: Awaited<ReturnType<typeof fingerprints>>, table: string) => list.find((t) => t.table === table)!;

it('hashes each column with its type hash and falls back to md5 for types without one', async () => {
  const taken = await fingerprints();
  expect(byTable(taken, 'plain')).toMatchObject({ rows: 500, fingerprint: expect.stringMatching(/^c64:-?\d+$/) });
  // enum, domain, array and bytea go through hash_record_extended(ROW(col)); odd names are quoted.
  expect(byTable(taken, 'odd')).toMatchObject({ rows: 2, fingerprint: expect.stringMatching(/^c64:-?\d+$/) });
  expect(byTable(taken, 'docs')).toMatchObject({ rows: 50, fingerprint: expect.stringMatching(/^md5:\d+$/) });
  expect(await fingerprints(taken)).toEqual(taken);
});

it('recomputes a fingerprint recorded with the older whole-row method the same way', async () => {
  const plain = byTable(await fingerprints(), 'plain');
  const sum = await withClient(db, async (c) => (await c.query(`SELECT sum(hash_record_extended(t, 0))::text AS s FROM plain t`)).rows[0].s);
  const recorded = { ...plain, fingerprint: `hr64:${sum}` };
  expect(byTable(await fingerprints([recorded]), 'plain')).toEqual(recorded);
});

it('ignores row order and the session time zone but notices a changed value or a moved NULL', async () => {
  const before = await fingerprints();
  await withClient(db, (c) => c.query('CLUSTER plain USING plain_pkey; UPDATE plain SET name = name WHERE id % 2 = 0'));
  expect(await fingerprints()).toEqual(before);
  const inTokyo = await withClient(db, async (c) => {
    await c.query(`SET TimeZone = 'Asia/Tokyo'`);
    return fingerprintTables(c, await dumpedTables(c));
  });
  expect(inTokyo).toEqual(before);

  await withClient(db, (c) => c.query(`UPDATE plain SET name = 'changed' WHERE id = 250`));
  const after = await fingerprints();
  expect(byTable(after, 'plain').rows).toBe(500);
  expect(byTable(after, 'plain').fingerprint).not.toBe(byTable(before, 'plain').fingerprint);

  // The same value in the other column, the NULL moved: another fingerprint.
  await withClient(db, (c) => c.query(`CREATE TABLE pair (a text, b text); INSERT INTO pair VALUES ('v', NULL)`));
  const one = byTable(await fingerprints(), 'pair');
  await withClient(db, (c) => c.query(`UPDATE pair SET a = NULL, b = 'v'`));
  const other = byTable(await fingerprints(), 'pair');
  expect(other.rows).toBe(1);
  expect(other.fingerprint).not.toBe(one.fingerprint);
});
