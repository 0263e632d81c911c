import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import path from 'node:path';
import { Readable, addAbortSignal } from 'node:stream';
import type { GetOptions, ListOptions, PutOptions, Store } from './store.js';

/**
 * A remote store read through local copies: an object of `copyable` (immutable ones: a backup's
 * data, never a lock or a record another process may rewrite) read whole is written into `dir`
 * as it streams past, and once that read has completed, later reads of it come from the copy
 * instead of the network (a restore after its integrity check reads the backup once, not twice).
 * A read that stops early or fails leaves no copy, and a copy that cannot be written (a full
 * disk) only stops the copying, never the read. Everything else goes to `origin`. The copies are
 * as trustworthy as `dir`: the caller keeps it private and removes it afterwards.
 */
export class ReadThroughStore implements Store {
  readonly #copies = new Map<string, string>();
  #files = 0;

  constructor(
    readonly origin: Store,
    readonly dir: string,
    readonly copyable: ReadonlySet<string>,
  ) {}

  get location(): string {
    return this.origin.location;
  }

  /** Keys whose complete copy is on local disk. */
  get copied(): string[] {
    return [...this.#copies.keys()];
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const copy = this.#copies.get(key);
    if (copy) {
      const stream = fs.createReadStream(copy, { start: options.start, end: options.end });
      return options.signal ? addAbortSignal(options.signal, stream) : stream;
    }
    const source = await this.origin.get(key, options);
    if (options.start !== undefined || options.end !== undefined || !this.copyable.has(key)) return source;
    return Readable.from(this.#copying(key, source), { objectMode: false });
  }

  async *#copying(key: string, source: Readable): AsyncGenerator<Buffer> {
    const file = path.join(this.dir, `object-${++this.#files}`);
    // A write stream batches what queues during a write into one writev; no fsync: a scratch copy.
    const stream = fs.createWriteStream(file, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 });
    let copy: fs.WriteStream | undefined = stream;
    const stopCopying = () => {
      copy?.destroy();
      copy = undefined;
    };
    copy.on('error', stopCopying);
    let complete = false;
    try {
      for await (const chunk of source) {
        if (copy && !copy.write(chunk)) await once(copy, 'drain').catch(stopCopying);
        yield chunk as Buffer;
      }
      if (copy) {
        copy.end();
        complete = await finished(copy).then(() => copy !== undefined, () => false);
      }
    } finally {
      if (complete) this.#copies.set(key, file);
      else {
        stopCopying();
        // A stream destroyed while it opens still creates the file: remove it once it is closed.
        if (!stream.closed) await new Promise<void>((resolve) => stream.once('close', () => resolve()));
        await fsp.rm(file, { force: true });
      }
    }
  }

  put(key: string, body: Readable | Buffer | string, options?: PutOptions) {
    this.#forget(key);
    return this.origin.put(key, body, options);
  }

  head(key: string) {
    return this.origin.head(key);
  }

  list(prefix: string, options?: ListOptions) {
    return this.origin.list(prefix, options);
  }

  async delete(keys: string[]) {
    keys.forEach((key) => this.#forget(key));
    await this.origin.delete(keys);
  }

  deletePartial(prefix: string, options: { olderThan: Date }) {
    return this.origin.deletePartial(prefix, options);
  }

  usage() {
    return this.origin.usage();
  }

  #forget(key: string): void {
    const copy = this.#copies.get(key);
    if (!copy) return;
    this.#copies.delete(key);
    fs.rmSync(copy, { force: true });
  }
}
