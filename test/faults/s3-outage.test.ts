import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { Repository } from '../../src/storage/repository.js';
import { startCutRelay, type CutRelay } from '../s3/helpers/cut-relay.js';
import { startS3rver, type S3TestServer } from '../s3/helpers/s3rver.js';
import { count, databaseNames, expectClearError, expectConsistent, faultSeed, outcome, prng, runUntilBytes, spawnAndCatch, startFaultEnv, type FaultEnv } from './helpers.js';

/*
 * The S3 server goes away at a seeded random point of the stream: while a backup uploads, s3rver
 * (in its own process) is killed; while a restore downloads, a relay in front of it drops every
 * connection and refuses new ones after passing part of the object (a killed server could leave
 * the rest in the client's socket buffer, and the download would succeed). Then it comes back.
 * The command fails with the endpoint named, nothing half-written becomes visible, the live
 * database is untouched, and once the server is back the repository lists and verifies as before.
 */
const seed = faultSeed();
const random = prng(seed);
const bucket = 'lifeline-faults';
const url = `s3://${bucket}/repo`;

let server: S3TestServer;
let env: FaultEnv;
let repository: Repository;
let earlier: string;
/** About the bytes pg_dump writes (and pg_restore reads) for this database. */
let dumpBytes: number;

beforeAll(async () => {
  server = await startS3rver({ buckets: [bucket] });
  env = await startFaultEnv({ fillMb: 24, repo: url, env: server.env });
  // Small parts and few attempts: uploads are multipart while the dump streams, failures come quickly.
  const settings = await env.cli('config', 'set', 'repository.s3', JSON.stringify({ partSizeMb: 5, queueSize: 1, maxAttempts: 2 }));
  expect(settings.exitCode, settings.stderr).toBe(0);
  repository = new Repository(server.store(bucket, 'repo', { maxAttempts: 2 }));
  earlier = await env.backup('--verify', 'none');
  // About what pg_dump writes (its table, a little more than the dump): a fraction of it is mid-stream.
  dumpBytes = Number((await withClient(env.conn, (c) => c.query<{ n: string }>("SELECT pg_total_relation_size('notes') AS n"))).rows[0].n);
}, 180_000);
afterAll(async () => {
  await env?.cleanup();
  await server?.cleanup();
});

/** A relay that goes down after passing `fraction` of the stored dump in the `nth` (or a later) GET of it. */
async function cutAfter(nth: number, fraction: number): Promise<CutRelay> {
  const manifest = await repository.readManifest(earlier);
  const stored = manifest.objects.find((o) => o.name.startsWith('data.dump'))!.size;
  return startCutRelay(server.port, { path: /\/data\.dump/, nth, afterBytes: Math.round(stored * fraction) });
}

/** Runs `command` with lifeline talking to S3 through `relay`. */
async function throughRelay<T>(relay: CutRelay, command: () => Promise<T>): Promise<T> {
  env.env.AWS_ENDPOINT_URL_S3 = relay.endpoint;
  try {
    return await command();
  } finally {
    env.env.AWS_ENDPOINT_URL_S3 = server.endpoint;
    relay.close();
  }
}

describe(`the S3 server stops (FAULT_SEED=${seed})`, { timeout: 120_000 }, () => {
  it(`mid-upload (seed ${seed}): the backup fails naming the endpoint; after a restart nothing of it is visible and prune clears its leftovers`, async () => {
    const { run, pid } = await spawnAndCatch(env, ['backup', '--verify', 'none'], 'pg_dump');
    await runUntilBytes(pid, 'wchar', Math.round(dumpBytes * (0.45 + random() * 0.3)));
    await server.kill();
    process.kill(pid, 'SIGCONT');
    const result = await outcome(run);
    expectClearError(result, 1, new RegExp(`${server.endpoint.replace(/\./g, '\\.')}|${bucket}`));
    expect(result.stderr).toMatch(/unreachable|refused|connect/i);

    await server.restart();
    await expectConsistent(env, [earlier], { repository });
    const prune = await env.cli('--json', 'prune', '--yes');
    expect(prune.exitCode, prune.stderr).toBe(0);
    const left = (await repository.store.list('backups/')).map((o) => o.key.split('/')[1]);
    expect([...new Set(left)]).toEqual([earlier]);
  });

  it(`mid-download (seed ${seed}): the restore fails naming the endpoint, the live database untouched; once it is back the backup restores`, async () => {
    const before = await count(env.conn, 'notes');
    // The dump is read three times: the integrity check, pg_restore --list (which may stop early), the restore.
    const relay = await cutAfter(3, 0.05 + random() * 0.3);
    const result = await throughRelay(relay, () => env.cli('restore', earlier, '--yes'));
    expect(relay.cut).toBe(true);
    expectClearError(result, 1, new RegExp(`${relay.endpoint.replace(/\./g, '\\.')}|${bucket}`));
    expect(await count(env.conn, 'notes')).toBe(before);
    expect((await databaseNames(env.pg)).filter((name) => name.startsWith('shop__'))).toEqual([]);

    await expectConsistent(env, [earlier], { repository });
    const into = await env.cli('restore', earlier, '--into', 'shop_after_outage', '--yes');
    expect(into.exitCode, into.stderr).toBe(0);
    expect(await count(env.pg.conn('shop_after_outage'), 'notes')).toBe(before);
  });

  it(`during the check (--jobs 2, seed ${seed}): an outage is the repository's error, not a failed check; the local copy is removed`, async () => {
    const before = await count(env.conn, 'notes');
    // A restore that stages the dump keeps the check's download as a local copy: the server goes while it grows.
    const relay = await cutAfter(1, 0.05 + random() * 0.3);
    const result = await throughRelay(relay, () => env.cli('restore', earlier, '--jobs', '2', '--yes'));
    expect(relay.cut).toBe(true);
    expectClearError(result, 1, new RegExp(`${relay.endpoint.replace(/\./g, '\\.')}|${bucket}`));
    // The check reads the backup's objects side by side: the outage may reach another one first.
    expect(result.stderr).toMatch(/^error: Cannot reach S3 at .* while reading s3:\/\/\S+\/backups\/\S+/m);
    expect(result.stderr).toMatch(/^hint: Check that the endpoint is up and reachable/m);
    expect(result.stderr).not.toMatch(/integrity check/);
    expect(await count(env.conn, 'notes')).toBe(before);
    expect((await databaseNames(env.pg)).filter((name) => name.startsWith('shop__'))).toEqual([]);
    expect(fs.readdirSync(path.join(env.home.home, 'data', 'scratch')).filter((name) => name.startsWith('copies-'))).toEqual([]);
  });
});
