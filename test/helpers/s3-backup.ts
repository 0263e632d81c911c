import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConnInfo } from '../../src/postgres/conninfo.js';
import { withClient } from '../../src/postgres/client.js';
import { logicalBackup } from '../../src/engine/backup/logical.js';
import { Repository } from '../../src/storage/repository.js';
import type { Manifest } from '../../src/storage/manifest.js';
import { seeded, startTestCluster, type TestCluster } from './cluster.js';
import { RecordingStore } from './recording-store.js';
import { startS3rver } from '../s3/helpers/s3rver.js';

export interface S3Backup {
  pg: TestCluster;
  shop: ConnInfo;
  /** A private folder for staging and work directories. */
  scratch: string;
  store: RecordingStore;
  repo: Repository;
  manifest: Manifest;
  cleanup(): Promise<void>;
}

/**
 * A test cluster with the demo shop plus `notesRows` rows of random hex text (~330 bytes a row,
 * about half that stored with zstd), backed up into a bucket on a loopback s3rver through a
 * RecordingStore, so that tests can count the reads a restore makes.
 */
export async function s3Backup(options: { prefix: string; notesRows: number; remote?: boolean }): Promise<S3Backup> {
  const pg = await startTestCluster();
  const s3 = await startS3rver();
  const shop = await seeded(pg, { database: 'shop', rows: 5_000 });
  await withClient(shop, (c) =>
    c.query(`CREATE TABLE notes (id int PRIMARY KEY, body text);
             INSERT INTO notes SELECT g, ${Array(10).fill('md5(random()::text)').join(' || ')} FROM generate_series(1, ${options.notesRows}) g;`),
  );
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `lifeline-${options.prefix}-`));
  const store = new RecordingStore(s3.store('lifeline-test', options.prefix), options.remote);
  const repo = new Repository(store);
  const { manifest } = await logicalBackup({ conn: shop, repo, label: 'daily', operator: 'test', compression: 'zstd', lockWaitTimeoutSeconds: 10 });
  return {
    pg,
    shop,
    scratch,
    store,
    repo,
    manifest,
    async cleanup() {
      await s3.cleanup();
      await pg.cleanup();
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}
