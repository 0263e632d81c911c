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
             INSERT INTO docs SELECT g, json_build_object('g', g), point(g, g) FROM generate_series(1, 50) g;`),
  );
});
afterAll(() => pg?.cleanup());

const fingerprints = () => withClient(db, async (c) => fingerprintTables(c, await dumpedTables(c)));

it('hashes typed columns directly and falls back to md5 for types without a hash function', async () => {
  const [docs, plain] = await fingerprints();
  expect(plain).toMatchObject({ table: 'plain', rows: 500, fingerprint: expect.stringMatching(/^hr64:-?\d+$/) });
  expect(docs).toMatchObject({ table: 'docs', rows: 50, fingerprint: expect.stringMatching(/^md5:\d+$/) });
  const again = await withClient(db, async (c) => fingerprintTables(c, await dumpedTables(c), { methods: recordedMethods([docs, plain]) }));
  expect(again).toEqual([docs, plain]);
});

it('ignores row order but notices a changed value', async () => {
  const before = await fingerprints();
  await withClient(db, (c) => c.query('CLUSTER plain USING plain_pkey; UPDATE plain SET name = name WHERE id % 2 = 0'));
  expect(await fingerprints()).toEqual(before);
  await withClient(db, (c) => c.query(`UPDATE plain SET name = 'changed' WHERE id = 250`));
  const after = await fingerprints();
  expect(after[1].rows).toBe(500);
  expect(after[1].fingerprint).not.toBe(before[1].fingerprint);
});
