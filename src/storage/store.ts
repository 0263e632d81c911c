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
  /**
   * Refuse if the key already exists (WAL archive, manifests, claims): the existing object is kept
   * and the result says `created: false`. Atomic: of two concurrent puts only one creates.
   */
  ifNotExists?: boolean;
  /**
   * An upper bound the caller expects the body to stay under. S3 allows 10,000 parts per upload:
   * a large hint makes the parts larger (see s3/part-plan.ts); a small one (up to 32 MiB) makes
   * the body one PutObject. Local stores ignore it.
   */
  sizeHint?: number;
}

export interface PutResult {
  key: string;
  /** Size and lowercase hex sha256 of the bytes offered; with `created: false` they were NOT stored. */
  size: number;
  sha256: string;
  created: boolean;
}

export interface GetOptions {
  signal?: AbortSignal;
  /** First byte to read (0-based). */
  start?: number;
  /** Last byte to read, INCLUSIVE (as in HTTP Range and fs.createReadStream). */
  end?: number;
}

export interface ListOptions {
  /** Stop after this many objects (the first ones in key order). */
  limit?: number;
}

export interface StoreUsage {
  /** Free bytes where the store writes, when the store can tell (local filesystems can). */
  freeBytes?: number;
  totalBytes?: number;
}

export interface Store {
  /** Human-readable location (a path or s3:// URL), never with credentials. */
  readonly location: string;
  /** Every read crosses a network (S3): a second read of an object costs a second download. */
  readonly remote?: boolean;
  /**
   * Streams `body` to `key`. The object becomes visible only once complete; on error or abort
   * nothing is left visible under `key`. Respects back-pressure. Errors of the body stream are
   * rethrown as they are; errors of the store are LifelineErrors (REPO_FULL, REPO_UNWRITABLE, ...).
   */
  put(key: string, body: Readable | Buffer | string, options?: PutOptions): Promise<PutResult>;
  /** Streams an object; a missing key throws LifelineError OBJECT_NOT_FOUND, other failures REPO_READ. */
  get(key: string, options?: GetOptions): Promise<Readable>;
  /** Object metadata, or undefined when absent. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix` (a plain string prefix), in key order. */
  list(prefix: string, options?: ListOptions): Promise<ObjectInfo[]>;
  /** Deletes objects; absent keys are not an error. */
  delete(keys: string[]): Promise<void>;
  /**
   * Removes what interrupted puts left under `prefix` (LocalStore: hidden temp files; S3:
   * unfinished multipart uploads) that were started before `olderThan`. Never touches objects.
   */
  deletePartial(prefix: string, options: { olderThan: Date }): Promise<{ count: number; bytes: number }>;
  usage(): Promise<StoreUsage>;
}

/** Temporary objects of an unfinished put carry this prefix in their last segment; keys may not. */
export const TEMP_PREFIX = '.tmp-';

const SAFE_SEGMENT = /^[A-Za-z0-9._+=@,-]+$/;

/** Keys are built by lifeline, never taken raw from input: a bad key is a bug, not a user error. */
export function assertValidKey(key: string): void {
  const problem = keyProblem(key, false);
  if (problem) throw new Error(`Invalid store key ${JSON.stringify(key)}: ${problem}`);
}

export function assertValidPrefix(prefix: string): void {
  const problem = keyProblem(prefix, true);
  if (problem) throw new Error(`Invalid store prefix ${JSON.stringify(prefix)}: ${problem}`);
}

function keyProblem(key: string, isPrefix: boolean): string | undefined {
  if (!isPrefix && key.length === 0) return 'empty';
  if (key.length > 1024) return 'longer than 1024 characters';
  if (key.startsWith('/')) return 'absolute';
  const segments = key.split('/');
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    // A prefix may end with '/' or in the middle of a segment.
    if (segment === '' && !(isPrefix && last)) return 'empty segment';
    if (segment === '.' || segment === '..') return 'relative segment';
    if (segment !== '' && !SAFE_SEGMENT.test(segment)) return 'unsafe characters';
    if (segment.startsWith(TEMP_PREFIX)) return `segment starts with ${TEMP_PREFIX}`;
  }
  return undefined;
}
