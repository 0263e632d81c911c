import os from 'node:os';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { LifelineError } from '../errors.js';
import { redactValue } from '../redact.js';
import { EMPTY_KEYRING, keyNotLoaded, type Keyring } from './crypto/keys.js';
import { ENCRYPTION_MARKER_KEY, decrypting, encryptionFacts, getData, prepareDataWrites, putData } from './crypto/objects.js';
import { compareBackupIdsNewestFirst, reserveBackupId, validateBackupRef } from './backup-id.js';
import { acquireLock, type AcquireLockOptions, type ReleaseLock } from './lock.js';
import { manifestSchema, type Manifest } from './manifest.js';
import { currentProcess, processLiveness } from './process-identity.js';
import { readObjectText } from './read-object.js';
import type { Transform } from 'node:stream';
import { sealJson, unsealJson } from './sealed-json.js';
import type { GetOptions, ObjectInfo, PutOptions, PutResult, Store } from './store.js';
import {
  highestLevel,
  meetsLevel,
  verificationRecordSchema,
  type VerificationInput,
  type VerificationRecord,
  type VerifyLevel,
} from './verification.js';

/*
 * The repository layout (DESIGN.md "The repository"), the same on every Store:
 *   lifeline.json                    format version and creation facts
 *   encryption.json                  present once the repository holds encrypted objects (crypto/objects.ts)
 *   lock, locks/                     the repository lock (lock.ts)
 *   backups/<id>/.reserved           the id's claim (a backup without manifest does not exist)
 *   backups/<id>/<object>            data.dump.zst, base.tar, ...
 *   backups/<id>/dump/<file>         a parallel (directory-format) dump, one object per file
 *   backups/<id>/verify/<time>.json  verification records
 *   backups/<id>/manifest.json       written LAST
 *   wal/<timeline>/<file>            archived WAL
 *   audit/<run-id>.jsonl             audit log copies
 */

export const REPOSITORY_FORMAT = 1;
export const REPOSITORY_INFO_KEY = 'lifeline.json';
const MANIFEST_NAME = 'manifest.json';
const RESERVATION_NAME = '.reserved';
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+=@,-]*$/;
const LIFELINE_TOP_LEVEL = [REPOSITORY_INFO_KEY, ENCRYPTION_MARKER_KEY, 'lock', 'locks/', 'backups/', 'wal/', 'audit/'];

const repositoryInfoSchema = z.looseObject({
  formatVersion: z.number().int().positive(),
  createdAt: z.string(),
  createdBy: z.looseObject({ host: z.string(), user: z.string().optional() }).optional(),
});
export type RepositoryInfo = z.infer<typeof repositoryInfoSchema>;

const reservationSchema = z.looseObject({
  pid: z.number().int(),
  host: z.string(),
  bootId: z.string().optional(),
  reservedAt: z.string(),
});
export type Reservation = z.infer<typeof reservationSchema>;

// ---- keys ---------------------------------------------------------------------------------------

export function backupPrefix(id: string): string {
  return `backups/${validateBackupRef(id)}/`;
}

/** Where a directory-format dump's files live inside a backup: `dump/toc.dat.zst`, `dump/3345.dat.zst`. */
export const DUMP_FOLDER = 'dump/';

/** Key of one stored object of a backup (a name such as `data.dump.zst`, or `dump/<file>`). */
export function backupKey(id: string, name: string): string {
  const file = name.startsWith(DUMP_FOLDER) ? name.slice(DUMP_FOLDER.length) : name;
  if (!SAFE_NAME.test(file)) throw new Error(`Invalid backup object name ${JSON.stringify(name)}`);
  return backupPrefix(id) + name;
}

export function manifestKey(id: string): string {
  return backupPrefix(id) + MANIFEST_NAME;
}

export function reservationKey(id: string): string {
  return backupPrefix(id) + RESERVATION_NAME;
}

export function verificationKey(id: string, at: Date, sequence = 1): string {
  const stamp = at.toISOString().replace(/[-:]/g, '');
  return `${backupPrefix(id)}verify/${stamp}${sequence > 1 ? `-${sequence}` : ''}.json`;
}

/** `wal/<timeline as 8 hex digits, as in WAL file names>/<file>`. */
export function walKey(timeline: number, file: string): string {
  if (!Number.isInteger(timeline) || timeline < 1 || timeline > 0xffffffff) throw new Error(`Invalid timeline ${timeline}`);
  if (!SAFE_NAME.test(file)) throw new Error(`Invalid WAL file name ${JSON.stringify(file)}`);
  return `wal/${timeline.toString(16).toUpperCase().padStart(8, '0')}/${file}`;
}

export function auditKey(runId: string): string {
  if (!SAFE_NAME.test(runId)) throw new Error(`Invalid run id ${JSON.stringify(runId)}`);
  return `audit/${runId}.jsonl`;
}

// ---- results ------------------------------------------------------------------------------------

/** A backup: its manifest's fields plus what the repository knows about it. */
export type BackupEntry = Manifest & {
  /** Sum of the stored objects' sizes, as the manifest records them. */
  sizeBytes: number;
  /** Oldest first. */
  verifications: VerificationRecord[];
  verifiedLevel?: VerifyLevel;
  /** verifiedLevel is at least the repository's minimum level. */
  verified: boolean;
};

/** Plain data, so `--json` can print it as it is. */
export interface RepositoryProblem {
  key: string;
  id?: string;
  code: string;
  message: string;
  hint?: string;
}

export interface BackupListing {
  /** Newest first. */
  backups: BackupEntry[];
  /** Corrupt manifests or records: reported, never fatal to the listing. */
  problems: RepositoryProblem[];
}

export interface IncompleteBackup {
  id: string;
  keys: string[];
  lastModifiedAt: Date;
  reservation?: Reservation;
}

export interface RepositoryOptions {
  /** The level a backup must pass to count as verified (default 'archive'). */
  minimumVerifiedLevel?: VerifyLevel;
  /**
   * Encryption keys: data objects are written encrypted with the current one and read with any
   * (default none: plain writes, and only unencrypted objects read). A function is called once,
   * when a key is first needed. openRepository() loads them from the environment and config.
   */
  keyring?: Keyring | (() => Keyring);
}

/** The DESIGN.md layout over a Store. Writers should hold the repository lock (`acquireLock`). */
export class Repository {
  readonly store: Store;
  readonly minimumVerifiedLevel: VerifyLevel;
  #info?: Promise<RepositoryInfo | undefined>;
  #initialized?: Promise<RepositoryInfo>;
  #keyring: Keyring | (() => Keyring);
  #dataWritesReady?: Promise<void>;
  /** Backups this instance stored encrypted objects for: their manifests record the key. */
  readonly #sealedBackups = new Set<string>();

  constructor(store: Store, options: RepositoryOptions = {}) {
    this.store = store;
    this.minimumVerifiedLevel = options.minimumVerifiedLevel ?? 'archive';
    this.#keyring = options.keyring ?? EMPTY_KEYRING;
  }

  /** The same repository (settings and keys) over another store, e.g. a ReadThroughStore of this one's. */
  withStore(store: Store): Repository {
    return new Repository(store, { minimumVerifiedLevel: this.minimumVerifiedLevel, keyring: () => this.keyring });
  }

  /** The encryption keys (loaded on first use). */
  get keyring(): Keyring {
    if (typeof this.#keyring === 'function') this.#keyring = this.#keyring();
    return this.#keyring;
  }

  /** What a manifest records about the objects this repository writes: undefined when unencrypted. */
  get encryption(): Manifest['encryption'] {
    return encryptionFacts(this.keyring);
  }

  get location(): string {
    return this.store.location;
  }

  /** The repository lock; see lock.ts. */
  acquireLock(options: AcquireLockOptions): Promise<ReleaseLock> {
    return acquireLock(this.store, options);
  }

  /** lifeline.json, or undefined for a repository nobody has written to yet. */
  info(): Promise<RepositoryInfo | undefined> {
    this.#info ??= this.#readInfo().catch((error: unknown) => {
      this.#info = undefined;
      throw error;
    });
    return this.#info;
  }

  /** Writes lifeline.json if missing; every write through the Repository calls this first. */
  initialize(): Promise<RepositoryInfo> {
    this.#initialized ??= this.#createInfo().catch((error: unknown) => {
      this.#initialized = undefined;
      throw error;
    });
    return this.#initialized;
  }

  /**
   * Any data write into the layout (backup objects, WAL, audit copies): initialises the
   * repository first and encrypts with the current key, if any. Metadata (manifests,
   * verification records, reservations) is written to the store directly, as plain JSON.
   */
  async put(key: string, body: Readable | Buffer | string, options?: PutOptions): Promise<PutResult> {
    await this.prepareDataWrites();
    return putData(this.store, this.keyring, key, body, options);
  }

  /**
   * Initialises the repository and settles encryption before data is written: with a key, marks
   * the repository encrypted; without one, refuses (KEY_MISSING) when it already is. Backups call
   * it before starting their tools, so a run without its key fails before any work.
   */
  prepareDataWrites(): Promise<void> {
    this.#dataWritesReady ??= (async () => {
      await this.initialize();
      await prepareDataWrites(this.store, this.keyring, 'backups');
    })().catch((error: unknown) => {
      this.#dataWritesReady = undefined;
      throw error;
    });
    return this.#dataWritesReady;
  }

  /**
   * Reserves a fresh id (`<time>-<label>`, `-2`, ... when taken) by creating backups/<id>/.reserved
   * with ifNotExists, so concurrent processes never share an id. The reservation alone is not a
   * backup: list and resolve only see backups with a manifest.
   */
  async reserveBackupId(options: { label: string; time?: Date; signal?: AbortSignal }): Promise<string> {
    await this.initialize();
    const me = currentProcess();
    return reserveBackupId({
      label: options.label,
      time: options.time,
      claim: async (id) => {
        const reservation: Reservation = { ...me, reservedAt: new Date().toISOString() };
        const result = await this.store.put(reservationKey(id), JSON.stringify(reservation), {
          ifNotExists: true,
          signal: options.signal,
        });
        // A backup written before reservations existed (or whose claim was removed) keeps its id.
        return result.created && (await this.store.head(manifestKey(id))) === undefined;
      },
    });
  }

  /** Key of one stored object of a backup (same as the backupKey function). */
  backupKey(id: string, name: string): string {
    return backupKey(id, name);
  }

  putBackupObject(id: string, name: string, body: Readable | Buffer | string, options?: PutOptions): Promise<PutResult> {
    if (name === MANIFEST_NAME) throw new Error('Write the manifest with writeManifest()');
    if (this.keyring.current) this.#sealedBackups.add(id);
    return this.put(backupKey(id, name), body, options);
  }

  /** A backup object's plain bytes (decrypted when it was stored encrypted). */
  getBackupObject(id: string, name: string, options?: GetOptions & { encrypted?: boolean }): Promise<Readable> {
    return getData(this.store, this.keyring, backupKey(id, name), options);
  }

  /**
   * Throws KEY_MISSING / KEY_WRONG, naming the key, when `manifest`'s backup is encrypted with a
   * key that is not loaded: callers check before any work rather than fail halfway.
   */
  assertCanDecrypt(manifest: Manifest): void {
    const fingerprint = manifest.encryption?.keyFingerprint;
    if (fingerprint && !this.keyring.keys.some((key) => key.fingerprint === fingerprint)) throw keyNotLoaded(`backup ${manifest.id}`, fingerprint, this.keyring);
  }

  /**
   * For pipelines that hash the bytes as stored and then use them: a Transform that decrypts
   * `key`'s bytes (or passes an unencrypted object through).
   */
  decrypting(key: string, options: { encrypted?: boolean } = {}): Transform {
    return decrypting(this.keyring, key, options);
  }

  /**
   * Validates the manifest, checks that every object it names is stored with that size, and
   * writes it (ifNotExists): from this moment the backup exists.
   */
  async writeManifest(manifest: Manifest): Promise<PutResult> {
    // Objects this instance encrypted: the manifest names the key (a copy keeps the source's facts).
    const facts = this.#sealedBackups.has(manifest.id) ? this.encryption : undefined;
    if (facts && !manifest.encryption) manifest = { ...manifest, encryption: facts };
    const parsed = manifestSchema.safeParse(manifest);
    if (!parsed.success) throw new Error(`Invalid manifest for ${manifest.id}: ${describeZodError(parsed.error)}`);
    const { id } = parsed.data;
    await this.initialize();
    for (const object of parsed.data.objects) {
      const stored = await this.store.head(backupKey(id, object.name));
      if (!stored || stored.size !== object.size) {
        throw new LifelineError(
          'BACKUP_FAILED',
          `Backup ${id}: ${object.name} is ${stored ? `${stored.size} bytes in the repository, the manifest says ${object.size}` : 'missing from the repository'}`,
          { hint: 'The backup is incomplete and was not recorded; run it again.' },
        );
      }
    }
    const result = await this.store.put(manifestKey(id), sealJson(redactValue(parsed.data)), { ifNotExists: true });
    if (!result.created) {
      throw new LifelineError('BACKUP_FAILED', `Backup ${id} already has a manifest in ${this.location}`, {
        hint: 'Backup ids are reserved with reserveBackupId(); this is a bug if it happens.',
      });
    }
    return result;
  }

  async readManifest(id: string): Promise<Manifest> {
    validateBackupRef(id);
    await this.info();
    const key = manifestKey(id);
    const text = await readObjectText(this.store, key);
    if (text === undefined) throw this.#notFound(id);
    const manifest = this.#parseJson(key, text, manifestSchema, 'Backup manifest');
    if (manifest.id !== id) throw this.#corrupt(key, 'Backup manifest', `it names backup ${manifest.id}`);
    return manifest;
  }

  /** Every backup with a manifest, newest first; corrupt manifests land in `problems`. */
  async listBackups(): Promise<BackupListing> {
    await this.info();
    const byId = groupByBackup(await this.store.list('backups/'));
    const problems: RepositoryProblem[] = [];
    const ids = [...byId.entries()].filter(([id, objects]) => hasManifest(id, objects)).map(([id]) => id);
    const entries = await mapLimit(ids, 8, async (id) => {
      try {
        return await this.#entry(id, byId.get(id) ?? [], problems);
      } catch (error) {
        if (!(error instanceof LifelineError)) throw error;
        problems.push(problem(`backups/${id}/${MANIFEST_NAME}`, id, error));
        return undefined;
      }
    });
    const backups = entries.filter((entry): entry is BackupEntry => entry !== undefined).sort(newestFirst);
    problems.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { backups, problems };
  }

  /**
   * `<id>`, a unique id prefix, `latest` (newest backup) or `latest-verified` (newest whose
   * verification reached the minimum level).
   */
  async resolveBackup(ref: string, options: { kind?: BackupEntry['kind'] } = {}): Promise<BackupEntry> {
    validateBackupRef(ref);
    if (ref === 'latest' || ref === 'latest-verified') {
      // A restore asks for the latest logical backup, pitr for the latest base backup.
      const backups = (await this.listBackups()).backups.filter((b) => !options.kind || b.kind === options.kind);
      if (backups.length === 0) {
        throw new LifelineError('BACKUP_NOT_FOUND', `The repository ${this.location} holds no ${options.kind ? `${options.kind} ` : ''}backups yet`, {
          hint: 'Run `lifeline backup` first (and check --repo if you expected backups there).',
        });
      }
      if (ref === 'latest') return backups[0];
      const verified = backups.find((backup) => backup.verified);
      if (!verified) {
        throw new LifelineError(
          'BACKUP_NOT_FOUND',
          `No ${options.kind ? `${options.kind} ` : ''}backup in ${this.location} has passed verification at level ${this.minimumVerifiedLevel} or higher`,
          { hint: `Run \`lifeline verify latest --level ${this.minimumVerifiedLevel}\`, or name a backup (see \`lifeline list\`).` },
        );
      }
      return verified;
    }

    await this.info();
    if (await this.store.head(manifestKey(ref))) {
      return this.#entry(ref, await this.store.list(backupPrefix(ref)), []);
    }
    const byId = groupByBackup(await this.store.list(`backups/${ref}`));
    const candidates = [...byId.entries()]
      .filter(([id, objects]) => hasManifest(id, objects))
      .map(([id]) => id)
      .sort(compareBackupIdsNewestFirst);
    if (candidates.length === 0) throw this.#notFound(ref);
    if (candidates.length > 1) {
      const shown = candidates.slice(0, 5).join(', ') + (candidates.length > 5 ? `, and ${candidates.length - 5} more` : '');
      throw new LifelineError('BACKUP_AMBIGUOUS', `"${ref}" matches ${candidates.length} backups: ${shown}`, {
        hint: 'Type more of the id; `lifeline list` shows them all.',
      });
    }
    return this.#entry(candidates[0], byId.get(candidates[0]) ?? [], []);
  }

  /** Records a verification run under backups/<id>/verify/<time>.json; returns its key. */
  async addVerification(id: string, record: VerificationInput): Promise<string> {
    const parsed = verificationRecordSchema.safeParse(record);
    if (!parsed.success) throw new Error(`Invalid verification record for ${id}: ${describeZodError(parsed.error)}`);
    if (parsed.data.backupId !== id) throw new Error(`Verification record names ${parsed.data.backupId}, not ${id}`);
    if (!(await this.store.head(manifestKey(id)))) throw this.#notFound(id);
    await this.initialize();
    const at = Number.isNaN(Date.parse(parsed.data.finishedAt)) ? new Date() : new Date(parsed.data.finishedAt);
    const body = sealJson(redactValue(parsed.data));
    for (let sequence = 1; ; sequence++) {
      const key = verificationKey(id, at, sequence);
      if ((await this.store.put(key, body, { ifNotExists: true })).created) return key;
    }
  }

  /** Verification records of a backup, oldest first (unreadable records are skipped). */
  async verifications(id: string): Promise<VerificationRecord[]> {
    validateBackupRef(id);
    return this.#readVerifications(id, await this.store.list(`${backupPrefix(id)}verify/`), []);
  }

  /** Highest level passed (integrity < archive < restore < consistency), if any. */
  async verifiedLevel(id: string): Promise<VerifyLevel | undefined> {
    return highestLevel(await this.verifications(id));
  }

  isVerified(level: VerifyLevel | undefined): boolean {
    return meetsLevel(level, this.minimumVerifiedLevel);
  }

  /**
   * Deletes a backup: the manifest FIRST (so an interrupted delete leaves an incomplete folder,
   * never a backup with missing parts), then its objects, the reservation last.
   */
  async deleteBackup(id: string): Promise<{ deleted: string[] }> {
    validateBackupRef(id);
    const objects = await this.store.list(backupPrefix(id));
    if (objects.length === 0) throw this.#notFound(id);
    const manifest = manifestKey(id);
    const reservation = reservationKey(id);
    const keys = objects.map((o) => o.key);
    if (keys.includes(manifest)) await this.store.delete([manifest]);
    const rest = keys.filter((key) => key !== manifest && key !== reservation);
    if (rest.length > 0) await this.store.delete(rest);
    // A killed backup also leaves its unfinished upload (possibly gigabytes) behind. Any age: a
    // cutoff of "now" missed one written in the same millisecond (file times are whole ms here).
    await this.store.deletePartial(backupPrefix(id), { olderThan: new Date(Date.now() + 60_000) });
    if (keys.includes(reservation)) await this.store.delete([reservation]);
    return { deleted: keys };
  }

  /**
   * Removes unfinished uploads anywhere in the repository (killed backups, killed wal-push)
   * started more than `olderThanMinutes` ago. Call it while holding the repository lock.
   */
  async removePartialUploads(options: { olderThanMinutes?: number; now?: Date } = {}): Promise<{ count: number; bytes: number }> {
    const { olderThanMinutes = 60, now = new Date() } = options;
    return this.store.deletePartial('', { olderThan: new Date(now.getTime() - olderThanMinutes * 60_000) });
  }

  /**
   * Backup folders without a manifest that no running process will finish: leftovers of killed
   * backups, to delete with deleteBackup(). A folder whose reserving process is provably dead
   * (same host, no such pid) is one at once; any other (another host's, or no readable
   * reservation) only once untouched for `olderThanMinutes`; a live reserver's never. Call it while
   * holding the repository lock, so no backup in progress is mistaken for a leftover.
   */
  async sweepIncomplete(options: { olderThanMinutes?: number; now?: Date } = {}): Promise<IncompleteBackup[]> {
    const { olderThanMinutes = 60, now = new Date() } = options;
    const byId = groupByBackup(await this.store.list('backups/'));
    const me = currentProcess();
    const leftovers: IncompleteBackup[] = [];
    for (const [id, objects] of byId) {
      if (hasManifest(id, objects)) continue;
      const lastModifiedAt = new Date(Math.max(...objects.map((o) => o.modifiedAt.getTime())));
      const recent = now.getTime() - lastModifiedAt.getTime() < olderThanMinutes * 60_000;
      let reservation: Reservation | undefined;
      if (objects.some((o) => o.key === `backups/${id}/${RESERVATION_NAME}`)) {
        const text = await readObjectText(this.store, `backups/${id}/${RESERVATION_NAME}`).catch(() => undefined);
        const parsed = reservationSchema.safeParse(safeJson(text));
        reservation = parsed.success ? parsed.data : undefined;
      }
      const liveness = reservation ? processLiveness(reservation, me) : 'unknown';
      if (liveness === 'alive' || (liveness === 'unknown' && recent)) continue;
      leftovers.push({ id, keys: objects.map((o) => o.key), lastModifiedAt, reservation });
    }
    return leftovers.sort((a, b) => compareBackupIdsNewestFirst(a.id, b.id));
  }

  // ---- internals --------------------------------------------------------------------------------

  async #readInfo(): Promise<RepositoryInfo | undefined> {
    const text = await readObjectText(this.store, REPOSITORY_INFO_KEY);
    if (text === undefined) return undefined;
    let info: RepositoryInfo;
    try {
      info = this.#parseJson(REPOSITORY_INFO_KEY, text, repositoryInfoSchema, 'Repository description');
    } catch (error) {
      if (!(error instanceof LifelineError)) throw error;
      // It only describes the repository: a new one is written on the next write, nothing else depends on it.
      throw new LifelineError(error.code, error.message, {
        hint: `Move ${this.location}/${REPOSITORY_INFO_KEY} aside (keep it for inspection); the next backup writes a new one. Backups and WAL are not affected.`,
      });
    }
    if (info.formatVersion > REPOSITORY_FORMAT) {
      throw new LifelineError(
        'REPO_VERSION',
        `The repository ${this.location} has format ${info.formatVersion}; this lifeline reads format ${REPOSITORY_FORMAT}`,
        { hint: 'Upgrade lifeline to work with this repository.' },
      );
    }
    return info;
  }

  async #createInfo(): Promise<RepositoryInfo> {
    const existing = await this.info();
    if (existing) return existing;
    // Refuse to turn some unrelated folder (a home directory, a wrong --repo) into a repository.
    const sample = await this.store.list('', { limit: 50 });
    const foreign = sample.filter((o) => !LIFELINE_TOP_LEVEL.some((top) => (top.endsWith('/') ? o.key.startsWith(top) : o.key === top)));
    if (foreign.length > 0) {
      throw new LifelineError('USAGE', `${this.location} holds other files (${foreign[0].key}, ...) and is not a lifeline repository`, {
        hint: 'Point --repo (or LIFELINE_REPO) at an empty or new folder.',
      });
    }
    const info: RepositoryInfo = {
      formatVersion: REPOSITORY_FORMAT,
      createdAt: new Date().toISOString(),
      createdBy: { host: os.hostname(), ...userName() },
    };
    const result = await this.store.put(REPOSITORY_INFO_KEY, sealJson(info), { ifNotExists: true });
    this.#info = undefined;
    if (result.created) return info;
    const raced = await this.info();
    if (!raced) throw new Error('lifeline.json vanished right after another process created it');
    return raced;
  }

  async #entry(id: string, objects: ObjectInfo[], problems: RepositoryProblem[]): Promise<BackupEntry> {
    const manifest = await this.readManifest(id);
    const verifyPrefix = `backups/${id}/verify/`;
    const verifications = await this.#readVerifications(
      id,
      objects.filter((o) => o.key.startsWith(verifyPrefix)),
      problems,
    );
    const verifiedLevel = highestLevel(verifications);
    return {
      ...manifest,
      sizeBytes: manifest.objects.reduce((sum, object) => sum + object.size, 0),
      verifications,
      verifiedLevel,
      verified: this.isVerified(verifiedLevel),
    };
  }

  async #readVerifications(id: string, objects: ObjectInfo[], problems: RepositoryProblem[]): Promise<VerificationRecord[]> {
    const records = await mapLimit(
      objects.filter((o) => o.key.endsWith('.json')),
      8,
      async (object): Promise<VerificationRecord | undefined> => {
        try {
          const text = await readObjectText(this.store, object.key);
          if (text === undefined) return undefined; // deleted meanwhile
          const record = this.#parseJson(object.key, text, verificationRecordSchema, 'Verification record');
          if (record.backupId !== id) throw this.#corrupt(object.key, 'Verification record', `it names backup ${record.backupId}`);
          return record;
        } catch (error) {
          if (!(error instanceof LifelineError)) throw error;
          // An unreadable record proves nothing: skip it, but say so.
          problems.push(problem(object.key, id, error));
          return undefined;
        }
      },
    );
    return records
      .filter((record): record is VerificationRecord => record !== undefined)
      .sort((a, b) => Date.parse(a.finishedAt) - Date.parse(b.finishedAt));
  }

  #parseJson<T>(key: string, text: string, schema: z.ZodType<T>, what: string): T {
    const { value: json, problem } = unsealJson(text);
    if (problem) throw this.#corrupt(key, what, problem);
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw this.#corrupt(key, what, describeZodError(parsed.error));
    return parsed.data;
  }

  #corrupt(key: string, what: string, why: string): LifelineError {
    return new LifelineError('REPO_CORRUPT', `${what} is corrupt: ${this.location}/${key} (${why})`, {
      hint: 'Keep the file for inspection and use another backup; `lifeline list` shows the rest.',
    });
  }

  #notFound(ref: string): LifelineError {
    return new LifelineError('BACKUP_NOT_FOUND', `No backup ${ref} in ${this.location}`, {
      hint: 'See `lifeline list` for the backups there (and check --repo).',
    });
  }
}

function problem(key: string, id: string, error: LifelineError): RepositoryProblem {
  return { key, id, code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
}

function hasManifest(id: string, objects: ObjectInfo[]): boolean {
  return objects.some((object) => object.key === `backups/${id}/${MANIFEST_NAME}`);
}

function groupByBackup(objects: ObjectInfo[]): Map<string, ObjectInfo[]> {
  const byId = new Map<string, ObjectInfo[]>();
  for (const object of objects) {
    const [top, id, rest] = object.key.split('/', 3);
    if (top !== 'backups' || !id || rest === undefined) continue;
    if (!/^[0-9A-Za-z][0-9A-Za-z-]{0,99}$/.test(id)) continue;
    const list = byId.get(id) ?? [];
    list.push(object);
    byId.set(id, list);
  }
  return byId;
}

function newestFirst(a: BackupEntry, b: BackupEntry): number {
  const ta = Date.parse(a.startedAt);
  const tb = Date.parse(b.startedAt);
  if (!Number.isNaN(ta) && !Number.isNaN(tb) && ta !== tb) return tb - ta;
  return compareBackupIdsNewestFirst(a.id, b.id);
}

function describeZodError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const where = issue.path.length > 0 ? issue.path.join('.') : 'document';
  return `${where}: ${issue.message}${error.issues.length > 1 ? ` (+${error.issues.length - 1} more)` : ''}`;
}

function safeJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function userName(): { user?: string } {
  try {
    return { user: os.userInfo().username };
  } catch {
    return {};
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
