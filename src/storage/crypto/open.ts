import { createDecipheriv } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { LifelineError } from '../../errors.js';
import { HEADER_SIZE, MAGIC, TAG_SIZE, chunkNonce, objectKey, readHeader, startsEncrypted, type Header } from './format.js';
import { ByteQueue } from './byte-queue.js';
import { keyNotLoaded, type Keyring } from './keys.js';

export interface OpenOptions {
  keyring: Keyring;
  /** Names the object in errors (its store key). */
  label: string;
  /** The object must be encrypted (its manifest says so): plain bytes are an error, not passed on. */
  encrypted?: boolean;
}

/**
 * Decrypts an object written by seal.ts, chunk by chunk, passing on only bytes whose chunk has
 * authenticated. An object that does not start with the format's magic is passed through
 * unchanged (objects stored before encryption was turned on) unless `encrypted` is set.
 */
export function openStream(options: OpenOptions): Transform {
  const opener = new Opener(options);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        for (const piece of opener.write(chunk)) this.push(piece);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        for (const piece of opener.end()) this.push(piece);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

/** The whole of a small stored object opened at once. */
export function openBuffer(stored: Buffer, options: OpenOptions): Buffer {
  const opener = new Opener(options);
  return Buffer.concat([...opener.write(stored), ...opener.end()]);
}

class Opener {
  readonly #options: OpenOptions;
  #state: 'sniff' | 'header' | 'chunks' | 'plain' = 'sniff';
  readonly #pending = new ByteQueue();
  #header?: Header;
  #key?: Buffer;
  #index = 0;

  constructor(options: OpenOptions) {
    this.#options = options;
  }

  write(chunk: Buffer): Buffer[] {
    if (this.#state === 'plain') return [chunk];
    this.#pending.push(chunk);
    if (this.#state === 'sniff') {
      if (this.#pending.length < MAGIC.length) return [];
      const start = Buffer.concat(this.#pending.take(MAGIC.length));
      this.#pending.unshift(start);
      if (!startsEncrypted(start)) return this.#plain();
      this.#state = 'header';
    }
    if (this.#state === 'header') {
      if (this.#pending.length < HEADER_SIZE) return [];
      this.#begin(Buffer.concat(this.#pending.take(HEADER_SIZE)));
    }
    const out: Buffer[] = [];
    const sealedChunk = this.#header!.chunkSize + TAG_SIZE;
    // Strictly more than one sealed chunk: the last one held back is opened as final at the end.
    while (this.#pending.length > sealedChunk) out.push(...this.#open(this.#pending.take(sealedChunk), false));
    return out;
  }

  end(): Buffer[] {
    if (this.#state === 'plain') return [];
    if (this.#state === 'sniff') return this.#plain();
    if (this.#state === 'header') throw this.#corrupt('ends inside its encryption header (truncated)');
    if (this.#pending.length < TAG_SIZE) throw this.#corrupt(`ends inside chunk ${this.#index} (truncated)`);
    return this.#open(this.#pending.take(this.#pending.length), true);
  }

  #plain(): Buffer[] {
    if (this.#options.encrypted) throw this.#corrupt('is not encrypted, but its manifest says it is (replaced?)');
    this.#state = 'plain';
    return this.#pending.take(this.#pending.length);
  }

  #begin(bytes: Buffer): void {
    const header = readHeader(bytes);
    if (header === 'version') {
      throw new LifelineError('DECRYPT_FAILED', `${this.#options.label} uses encryption format version ${bytes[5]}, which this lifeline cannot read`, {
        hint: 'Upgrade lifeline to read it.',
      });
    }
    if (typeof header === 'string') throw this.#corrupt('has a damaged encryption header');
    const key = this.#options.keyring.keys.find((k) => k.fingerprint === header.fingerprint);
    if (!key) throw keyNotLoaded(this.#options.label, header.fingerprint, this.#options.keyring);
    this.#header = header;
    this.#key = objectKey(key.bytes, header);
    this.#state = 'chunks';
  }

  /** One sealed chunk (its pieces): the plain bytes, released only once the tag checks out. */
  #open(sealed: Buffer[], final: boolean): Buffer[] {
    const index = this.#index++;
    const length = sealed.reduce((sum, piece) => sum + piece.length, 0);
    const body = new ByteQueue();
    for (const piece of sealed) body.push(piece);
    const ciphertext = body.take(length - TAG_SIZE);
    const decipher = createDecipheriv('aes-256-gcm', this.#key!, chunkNonce(this.#header!, index, final));
    decipher.setAAD(this.#header!.bytes);
    decipher.setAuthTag(Buffer.concat(body.take(TAG_SIZE)));
    const plain = ciphertext.map((piece) => decipher.update(piece));
    try {
      decipher.final();
    } catch {
      throw this.#corrupt(`chunk ${index} failed authentication${final ? ' (the object may be truncated or extended)' : ''}`);
    }
    return plain.filter((piece) => piece.length > 0);
  }

  #corrupt(what: string): LifelineError {
    return new LifelineError('DECRYPT_FAILED', `${this.#options.label}: ${what}`, {
      hint: 'The stored bytes were damaged or altered after they were written; nothing unauthenticated was used. Use another backup (or another copy of this file).',
    });
  }
}
