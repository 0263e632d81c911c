import type { Readable } from 'node:stream';
import type { GetOptions, ListOptions, PutOptions, Store } from '../../src/storage/store.js';

/**
 * A real store with a record of the reads asked of it (a spy, not a mock: every call goes to the
 * store inside). `remote` says what the store inside would: S3Store's is true.
 */
export class RecordingStore implements Store {
  readonly gets: { key: string; start?: number; end?: number }[] = [];
  constructor(
    readonly inner: Store,
    readonly remote?: boolean,
  ) {}
  get location() {
    return this.inner.location;
  }
  put(key: string, body: Readable | Buffer | string, options?: PutOptions) {
    return this.inner.put(key, body, options);
  }
  get(key: string, options: GetOptions = {}) {
    this.gets.push({ key, start: options.start, end: options.end });
    return this.inner.get(key, options);
  }
  head(key: string) {
    return this.inner.head(key);
  }
  list(prefix: string, options?: ListOptions) {
    return this.inner.list(prefix, options);
  }
  delete(keys: string[]) {
    return this.inner.delete(keys);
  }
  deletePartial(prefix: string, options: { olderThan: Date }) {
    return this.inner.deletePartial(prefix, options);
  }
  usage() {
    return this.inner.usage();
  }
}
