import { createCipheriv } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
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
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #index = 0;
  #headerSent = false;

  constructor(key: EncryptionKey, chunkLog2?: number) {
    this.#header = createHeader(key.fingerprint, chunkLog2);
    this.#key = objectKey(key.bytes, this.#header);
  }

  write(chunk: Buffer): Buffer[] {
    const out = this.#start();
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const size = this.#header.chunkSize;
    // Strictly more than one chunk: what is held back may turn out to be the final one.
    if (this.#pendingBytes > size) {
      let all = Buffer.concat(this.#pending, this.#pendingBytes);
      while (all.length > size) {
        out.push(...this.#seal(all.subarray(0, size), false));
        all = all.subarray(size);
      }
      this.#pending = [all];
      this.#pendingBytes = all.length;
    }
    return out;
  }

  end(): Buffer[] {
    const out = this.#start();
    out.push(...this.#seal(Buffer.concat(this.#pending, this.#pendingBytes), true));
    this.#pending = [];
    this.#pendingBytes = 0;
    return out;
  }

  #start(): Buffer[] {
    if (this.#headerSent) return [];
    this.#headerSent = true;
    return [this.#header.bytes];
  }

  #seal(plain: Buffer, final: boolean): Buffer[] {
    const cipher = createCipheriv('aes-256-gcm', this.#key, chunkNonce(this.#header, this.#index++, final));
    cipher.setAAD(this.#header.bytes);
    const body = cipher.update(plain);
    const rest = cipher.final();
    return [body, ...(rest.length ? [rest] : []), cipher.getAuthTag()];
  }
}
