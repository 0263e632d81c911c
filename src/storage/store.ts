import type { Readable } from 'node:stream';

/**
 * Where bytes live. Keys are '/'-separated relative paths (e.g. "backups/<id>/manifest.json").
 * Implementations: LocalStore (a directory) now, S3Store later: callers only see this interface.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  modifiedAt: Date;
}

export interface PutOptions {
  signal?: AbortSignal;
  /** Refuse if the key already exists (WAL archive, manifests): returns 'exists' instead. */
  ifNotExists?: boolean;
}

export interface PutResult {
  key: string;
  size: number;
  /** Lowercase hex sha256 of the bytes as stored. */
  sha256: string;
  created: boolean;
}

export interface StoreUsage {
  /** Free bytes where the store writes, when the store can tell (local filesystems can). */
  freeBytes?: number;
  totalBytes?: number;
}

export interface Store {
  /** Human-readable location (a path or s3:// URL), never with credentials. */
  readonly location: string;
  /**
   * Streams `body` to `key`. The object becomes visible only once complete; on error or abort
   * nothing is left visible under `key`. Respects back-pressure.
   */
  put(key: string, body: Readable | Buffer | string, options?: PutOptions): Promise<PutResult>;
  /** Streams an object; throws LifelineError REPO_READ / BACKUP_NOT_FOUND style errors. */
  get(key: string, options?: { signal?: AbortSignal; start?: number; end?: number }): Promise<Readable>;
  /** Object metadata, or undefined when absent. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes objects; absent keys are not an error. */
  delete(keys: string[]): Promise<void>;
  usage(): Promise<StoreUsage>;
}
