import os from 'node:os';
import { LifelineError } from '../../errors.js';
import { startsEncrypted, MAGIC } from '../../storage/crypto/format.js';
import type { Keyring } from '../../storage/crypto/keys.js';
import { ENCRYPTION_MARKER_KEY, getData } from '../../storage/crypto/objects.js';
import type { Store } from '../../storage/store.js';
import { sealJson } from '../../storage/sealed-json.js';
import type { WalFileName } from './names.js';
import { TRAILER_SIZE, WAL_COMPRESSIONS, WAL_EXTENSIONS, decodeTrailer, walFolder, type TrailerFacts, type WalCompression } from './object-format.js';

/*
 * The few repository facts the WAL path needs, without the Repository class: it validates with
 * zod, whose load alone costs ~100 ms, and PostgreSQL runs wal-push/wal-fetch once per file.
 * These mirror repository.ts (REPOSITORY_INFO_KEY, its top-level names, the first-write rule).
 */
export const REPOSITORY_INFO_KEY = 'lifeline.json';
const LIFELINE_TOP_LEVEL = ['lifeline.json', ENCRYPTION_MARKER_KEY, 'lock', 'locks/', 'backups/', 'wal/', 'audit/'];

/** Whether lifeline.json is there (a stat, so a file another OS user wrote 0600 still counts). */
export async function repositoryExists(store: Store): Promise<boolean> {
  return (await store.head(REPOSITORY_INFO_KEY)) !== undefined;
}

/** Initialises the repository on first write, refusing a folder that holds other things. */
export async function ensureRepository(store: Store): Promise<void> {
  if (await repositoryExists(store)) return;
  const sample = await store.list('', { limit: 50 });
  const foreign = sample.filter((o) => !LIFELINE_TOP_LEVEL.some((top) => (top.endsWith('/') ? o.key.startsWith(top) : o.key === top)));
  if (foreign.length > 0) {
    throw new LifelineError('USAGE', `${store.location} holds other files (${foreign[0].key}, ...) and is not a lifeline repository`, {
      hint: 'Point --repo (or LIFELINE_REPO) at an empty or new folder.',
    });
  }
  let user: string | undefined;
  try {
    user = os.userInfo().username;
  } catch {
    user = undefined;
  }
  const info = { formatVersion: 1, createdAt: new Date().toISOString(), createdBy: { host: os.hostname(), ...(user ? { user } : {}) } };
  await store.put(REPOSITORY_INFO_KEY, sealJson(info), { ifNotExists: true });
}

export interface StoredWal {
  key: string;
  compression: WalCompression;
  size: number;
}

/** The stored object for a WAL file, whichever compression it was pushed with. */
export async function findWalObject(store: Store, file: WalFileName): Promise<StoredWal | undefined> {
  for (const compression of WAL_COMPRESSIONS) {
    const key = `${walFolder(file.timeline)}${file.name}${WAL_EXTENSIONS[compression]}`;
    const info = await store.head(key);
    if (info) return { key, compression, size: info.size };
  }
  return undefined;
}

/**
 * The plain sha256 and size recorded in a stored WAL object's trailer: a ranged read of its last
 * bytes, or for an encrypted object (whose trailer is inside the encryption) a read of the whole.
 */
export async function readTrailer(store: Store, object: StoredWal, keyring: Keyring, signal?: AbortSignal): Promise<TrailerFacts> {
  const size = TRAILER_SIZE[object.compression];
  let facts = object.size >= size ? decodeTrailer(object.compression, await readRange(store, object.key, object.size - size, object.size - 1, signal)) : undefined;
  if (!facts && object.size >= MAGIC.length && startsEncrypted(await readRange(store, object.key, 0, MAGIC.length - 1, signal))) {
    let tail = Buffer.alloc(0);
    for await (const chunk of await getData(store, keyring, object.key, { signal, encrypted: true })) {
      tail = Buffer.concat([tail, chunk as Buffer]);
      if (tail.length > size) tail = tail.subarray(tail.length - size);
    }
    facts = decodeTrailer(object.compression, tail);
  }
  if (!facts) {
    throw new LifelineError('REPO_CORRUPT', `${store.location}/${object.key} has no lifeline checksum trailer`, {
      hint: 'It was not written by lifeline wal-push (or was truncated); move it out of the archive and push the file again.',
    });
  }
  return facts;
}

async function readRange(store: Store, key: string, start: number, end: number, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key, { start, end, signal })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
