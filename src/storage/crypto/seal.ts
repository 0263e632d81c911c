import { createCipheriv } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ByteQueue } from './byte-queue.js';
import { chunkNonce, createHeader, objectKey, type Header } from './format.js';
import type { EncryptionKey } from './keys.js';

/**
 * Encrypts a stream into the format of format.ts, holding at most one chunk (1 MiB) plus the
 * incoming piece. A chunk is sealed only once the bytes after it arrive (or the input ends), so
 * the last one is known to be last and sealed as final; empty input gives one empty final chunk.
 */
export function sealStream(key: EncryptionKey, options: { chunkLog2?: number } = {}): Transform {
  const sealer = new Sealer(key, options.chunkLog2);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      for (const piece of sealer.write(chunk)) this.push(piece);
      callback();
    },
    flush(callback: TransformCallback) {
      for (const piece of sealer.end()) this.push(piece);
      callback();
    },
  });
}

/** The whole of `plain` encrypted at once (small objects: globals.sql, backup_manifest). */
export function sealBuffer(key: EncryptionKey, plain: Buffer, options: { chunkLog2?: number } = {}): Buffer {
  const sealer = new Sealer(key, options.chunkLog2);
  return Buffer.concat([...sealer.write(plain), ...sealer.end()]);
}

class Sealer {
  readonly #header: Header;
  readonly #key: Buffer;
  readonly #pending = new ByteQueue();
  #index = 0;
  #headerSent = false;

  constructor(key: EncryptionKey, chunkLog2?: number) {
    this.#header = createHeader(key.fingerprint, chunkLog2);
    this.#key = objectKey(key.bytes, this.#header);
  }

  write(chunk: Buffer): Buffer[] {
    const out = this.#start();
    this.#pending.push(chunk);
    // Strictly more than one chunk: what is held back may turn out to be the final one.
    while (this.#pending.length > this.#header.chunkSize) out.push(...this.#seal(this.#pending.take(this.#header.chunkSize), false));
    return out;
  }

  end(): Buffer[] {
    return [...this.#start(), ...this.#seal(this.#pending.take(this.#header.chunkSize), true)];
  }

  #start(): Buffer[] {
    if (this.#headerSent) return [];
    this.#headerSent = true;
    return [this.#header.bytes];
  }

  #seal(plain: Buffer[], final: boolean): Buffer[] {
    const cipher = createCipheriv('aes-256-gcm', this.#key, chunkNonce(this.#header, this.#index++, final));
    cipher.setAAD(this.#header.bytes);
    const out = plain.map((piece) => cipher.update(piece));
    out.push(cipher.final(), cipher.getAuthTag());
    return out.filter((piece) => piece.length > 0);
  }
}
