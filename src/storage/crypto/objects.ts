import os from 'node:os';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifelineError } from '../../errors.js';
import { readObjectText } from '../read-object.js';
import type { GetOptions, PutOptions, PutResult, Store } from '../store.js';
import { ALGORITHM, MAGIC, startsEncrypted } from './format.js';
import type { Keyring } from './keys.js';
import { openStream } from './open.js';
import { sealBuffer, sealStream } from './seal.js';

/*
 * The one place data objects (dumps, base tars, WAL, audit copies: everything but the JSON
 * metadata) are encrypted on the way into the store and decrypted on the way out. The Repository
 * and the WAL path both call these, so every object they write gets the same treatment.
 *
 * encryption.json at the repository's top level marks it encrypted: written (ifNotExists) before
 * the first encrypted object, never removed. Its EXISTENCE is the mark (a HEAD, which works for
 * an OS user who cannot read the file): from then on a write without a key is refused, so a cron
 * job or an archive_command that lost its key fails loudly instead of storing plaintext.
 */

export const ENCRYPTION_MARKER_KEY = 'encryption.json';

export interface EncryptionFacts {
  algorithm: string;
  keyFingerprint: string;
}

/** What the manifest records for objects written with this keyring; undefined: they are stored plain. */
export function encryptionFacts(keyring: Keyring): EncryptionFacts | undefined {
  return keyring.current ? { algorithm: ALGORITHM, keyFingerprint: keyring.current.fingerprint } : undefined;
}

/**
 * Call before writing data objects: with a key, marks the repository encrypted; without one,
 * refuses when the repository is marked. `what` names the write for the message.
 */
export async function prepareDataWrites(store: Store, keyring: Keyring, what = 'data'): Promise<void> {
  const marked = (await store.head(ENCRYPTION_MARKER_KEY)) !== undefined;
  if (keyring.current) {
    if (!marked) {
      const marker = { formatVersion: 1, algorithm: ALGORITHM, since: new Date().toISOString(), firstKeyFingerprint: keyring.current.fingerprint, host: os.hostname() };
      await store.put(ENCRYPTION_MARKER_KEY, `${JSON.stringify(marker, null, 2)}\n`, { ifNotExists: true });
    }
    return;
  }
  if (!marked) return;
  const marker = await readObjectText(store, ENCRYPTION_MARKER_KEY, { maxBytes: 64 * 1024 }).catch(() => undefined);
  const since = marker ? safeField(marker, 'since') : undefined;
  throw new LifelineError('KEY_MISSING', `${store.location} holds encrypted backups${since ? ` (since ${since})` : ''}: lifeline will not store ${what} there unencrypted, and no encryption key is set`, {
    hint: 'Set LIFELINE_ENCRYPTION_KEY (64 hex characters) or `lifeline config set encryptionKeyFile <file>` to the current key; for archive_command pass --key-file <file>.',
  });
}

/** A copy of an encrypted repository's backups is an encrypted repository too (lifeline copy). */
export async function carryEncryptionMark(from: Store, to: Store): Promise<void> {
  if (!(await from.head(ENCRYPTION_MARKER_KEY)) || (await to.head(ENCRYPTION_MARKER_KEY))) return;
  await to.put(ENCRYPTION_MARKER_KEY, await from.get(ENCRYPTION_MARKER_KEY), { ifNotExists: true });
}

/** Stores `body` under `key`, encrypted with the current key when there is one. Call prepareDataWrites first. */
export function putData(store: Store, keyring: Keyring, key: string, body: Readable | Buffer | string, options?: PutOptions): Promise<PutResult> {
  const current = keyring.current;
  if (!current) return store.put(key, body, options);
  if (typeof body === 'string' || Buffer.isBuffer(body)) return store.put(key, sealBuffer(current, Buffer.from(body)), options);
  return store.put(key, through(body, sealStream(current)), options);
}

/**
 * An object's plain bytes: decrypted when it is encrypted, as stored otherwise (or an error when
 * `encrypted` says it must be). A ranged read of an encrypted object decrypts from the start and
 * keeps the range (only small objects are read by range).
 */
export async function getData(
  store: Store,
  keyring: Keyring,
  key: string,
  options: GetOptions & { encrypted?: boolean } = {},
): Promise<Readable> {
  const { start, end, signal, encrypted } = options;
  if ((start !== undefined || end !== undefined) && !encrypted) {
    const first = await store.get(key, { signal, start: 0, end: MAGIC.length - 1 });
    const chunks: Buffer[] = [];
    for await (const chunk of first) chunks.push(chunk as Buffer);
    if (!startsEncrypted(Buffer.concat(chunks))) return store.get(key, options);
  }
  const opened = through(await store.get(key, { signal }), openStream({ keyring, label: key, encrypted }));
  return start !== undefined || end !== undefined ? through(opened, slice(start ?? 0, end)) : opened;
}

/** A Transform that decrypts (or passes plain objects through): for pipelines that hash the stored bytes first. */
export function decrypting(keyring: Keyring, key: string, options: { encrypted?: boolean } = {}): Transform {
  return openStream({ keyring, label: key, encrypted: options.encrypted });
}

/** `source` piped into `transform`; an error on either side destroys both, and reaches the reader. */
function through(source: Readable, transform: Transform): Transform {
  pipeline(source, transform).catch(() => undefined);
  return transform;
}

/** Bytes start..end (inclusive) of a stream. */
function slice(start: number, end = Number.POSITIVE_INFINITY): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const from = Math.max(start - offset, 0);
      const to = Math.min(end + 1 - offset, chunk.length);
      offset += chunk.length;
      callback(null, from < to ? chunk.subarray(from, to) : undefined);
    },
  });
}

function safeField(text: string, field: string): string | undefined {
  try {
    const value = (JSON.parse(text) as Record<string, unknown>)[field];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
