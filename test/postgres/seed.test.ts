import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import type { ConnInfo } from '../../src/postgres/conninfo.js';
import { seedCounts, seedDemoShop } from '../../src/postgres/seed.js';
import { createDatabase, startTestCluster, type TestCluster } from '../helpers/cluster.js';

let pg: TestCluster;
let shop: ConnInfo;
let seconds: number;

beforeAll(async () => {
  pg = await startTestCluster();
  shop = await createDatabase(pg, 'shop');
  const started = performance.now();
  await seedDemoShop(shop);
  seconds = (performance.now() - started) / 1000;
});

afterAll(() => pg?.cleanup());

async function rows<T>(conn: ConnInfo, sql: string): Promise<T[]> {
  return withClient(conn, async (c) => (await c.query(sql)).rows as T[]);
}

const CONTENT_HASH = `
  SELECT md5(string_agg(t, '|' ORDER BY t)) AS h FROM (
    SELECT 'c' || c::text AS t FROM customers c
    UNION ALL SELECT 'p' || p::text FROM products p
    UNION ALL SELECT 'o' || o::text FROM orders o
    UNION ALL SELECT 'i' || i::text FROM order_items i) x`;

describe('seedDemoShop', () => {
  it('makes about 100k rows in a few seconds', async () => {
    const [counts] = await rows<Record<string, string>>(shop, `
      SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM products) AS products,
             (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM order_items) AS order_items`);
    const expected = seedCounts();
    expect(Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Number(v)]))).toEqual(expected);
    const total = Object.values(expected).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(95_000);
    expect(total).toBeLessThanOrEqual(105_000);
    expect(seconds).toBeLessThan(3);
  });

  it('has primary keys, foreign keys, indexes, sequences and a view', async () => {
    const constraints = await rows<{ conname: string; contype: string }>(shop, `
      SELECT conname, contype FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY conname`);
    const fks = constraints.filter((c) => c.contype === 'f').map((c) => c.conname);
    expect(fks).toEqual(['order_items_order_id_fkey', 'order_items_product_id_fkey', 'orders_customer_id_fkey']);
    expect(constraints.filter((c) => c.contype === 'p')).toHaveLength(4);
    const indexes = await rows<{ indexname: string }>(shop, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'");
    expect(indexes.length).toBeGreaterThanOrEqual(10);
    const sequences = await rows<{ s: string }>(shop, "SELECT sequencename AS s FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1");
    expect(sequences.map((s) => s.s)).toEqual(['customers_id_seq', 'orders_id_seq', 'products_id_seq']);
    const [view] = await rows<{ n: string; total: string }>(shop, 'SELECT count(*) AS n, sum(total) AS total FROM order_totals');
    expect(Number(view.n)).toBe(seedCounts().orders);
    expect(Number(view.total)).toBeGreaterThan(0);
    // Sequences continue after the generated ids.
    const [added] = await rows<{ id: string }>(shop, `
      INSERT INTO customers (name, email, country, created_at) VALUES ('New', 'new@example.com', 'DE', now()) RETURNING id`);
    expect(Number(added.id)).toBe(seedCounts().customers + 1);
    await rows(shop, "DELETE FROM customers WHERE email = 'new@example.com'");
  });

  it('keeps referential integrity (the constraints validated; no orphans)', async () => {
    const [orphans] = await rows<{ n: string }>(shop, `
      SELECT count(*) AS n FROM order_items i LEFT JOIN orders o ON o.id = i.order_id WHERE o.id IS NULL`);
    expect(Number(orphans.n)).toBe(0);
    await expect(rows(shop, 'INSERT INTO orders (customer_id, status, placed_at) VALUES (999999999, $$paid$$, now())')).rejects.toThrow(/foreign key/);
  });

  it('holds unicode text, emoji, jsonb and NULLs', async () => {
    const [sample] = await rows<Record<string, string>>(shop, `
      SELECT (SELECT count(*) FROM customers WHERE name LIKE 'Zoë %') AS zoe,
             (SELECT count(*) FROM customers WHERE name LIKE '%Ångström%') AS angstrom,
             (SELECT count(*) FROM customers WHERE city = '東京') AS tokyo,
             (SELECT count(*) FROM customers WHERE name LIKE '%🦄%') AS emoji,
             (SELECT count(*) FROM customers WHERE city IS NULL) AS null_city,
             (SELECT count(*) FROM customers WHERE note = '') AS empty_note,
             (SELECT count(*) FROM orders WHERE shipped_at IS NULL) AS unshipped,
             (SELECT count(*) FROM products WHERE attributes IS NULL) AS null_attributes,
             (SELECT count(*) FROM products WHERE attributes ? 'color') AS with_color`);
    for (const [key, value] of Object.entries(sample)) expect(Number(value), key).toBeGreaterThan(0);
  });

  it('is deterministic and re-runnable', async () => {
    const [first] = await rows<{ h: string }>(shop, CONTENT_HASH);
    const other = await createDatabase(pg, 'shop2');
    await seedDemoShop(other);
    await seedDemoShop(other); // replaces, does not add
    const [second] = await rows<{ h: string }>(other, CONTENT_HASH);
    expect(second.h).toBe(first.h);
  });

  it('scales with rows', async () => {
    const small = await createDatabase(pg, 'small');
    const result = await seedDemoShop(small, { rows: 1_000 });
    expect(result).toEqual({ customers: 100, products: 10, orders: 300, order_items: 590, total: 1_000 });
    const [n] = await rows<{ n: string }>(small, 'SELECT count(*) AS n FROM order_items');
    expect(Number(n.n)).toBe(590);
  });
});
