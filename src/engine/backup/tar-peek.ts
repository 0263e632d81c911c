import { Transform } from 'node:stream';
import { chunkCollector } from '../../young-garbage.js';

/**
 * Passes a tar stream through unchanged while keeping the contents of a few small members
 * (pg_basebackup's backup_label and backup_manifest), so they are known without a second read.
 */
export class TarPeek extends Transform {
  readonly captured = new Map<string, Buffer>();
  #wanted: Set<string>;
  #maxBytes: number;
  #pending = Buffer.alloc(0);
  /** Bytes of the current member's data (plus padding) still to skip or capture. */
  #remaining = 0;
  #padding = 0;
  #current?: { name: string; chunks: Buffer[] };
  #ended = false;
  members = 0;
  // The tar passes through lifeline uncompressed, at several times the rate of what is stored.
  #collect = chunkCollector();

  constructor(wanted: string[], options: { maxBytes?: number } = {}) {
    super();
    this.#wanted = new Set(wanted);
    this.#maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void): void {
    try {
      this.#consume(chunk);
      callback(null, chunk);
      this.#collect(chunk.length);
    } catch (error) {
      callback(error as Error);
    }
  }

  #consume(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.#ended) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - offset);
        if (this.#current) this.#current.chunks.push(Buffer.from(chunk.subarray(offset, offset + take)));
        this.#remaining -= take;
        offset += take;
        if (this.#remaining === 0 && this.#current) {
          this.captured.set(this.#current.name, Buffer.concat(this.#current.chunks));
          this.#current = undefined;
        }
        continue;
      }
      if (this.#padding > 0) {
        const take = Math.min(this.#padding, chunk.length - offset);
        this.#padding -= take;
        offset += take;
        continue;
      }
      const need = 512 - this.#pending.length;
      const take = Math.min(need, chunk.length - offset);
      this.#pending = Buffer.concat([this.#pending, chunk.subarray(offset, offset + take)]);
      offset += take;
      if (this.#pending.length < 512) continue;
      const header = this.#pending;
      this.#pending = Buffer.alloc(0);
      if (header.every((b) => b === 0)) {
        this.#ended = true;
        continue;
      }
      this.members++;
      const size = tarNumber(header.subarray(124, 136));
      const prefix = cString(header.subarray(345, 500));
      const base = cString(header.subarray(0, 100));
      const name = (header.toString('latin1', 257, 262) === 'ustar' && prefix ? `${prefix}/${base}` : base).replace(/^\.\//, '');
      const type = String.fromCharCode(header[156] || 0x30);
      this.#remaining = size;
      this.#padding = (512 - (size % 512)) % 512;
      if ((type === '0' || type === '\0') && this.#wanted.has(name) && size <= this.#maxBytes) {
        this.#current = { name, chunks: [] };
        if (size === 0) {
          this.captured.set(name, Buffer.alloc(0));
          this.#current = undefined;
        }
      }
    }
  }
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.toString('utf8', 0, end < 0 ? bytes.length : end);
}

/** Octal, or base-256 when the high bit is set (GNU / pg_basebackup for large files). */
function tarNumber(field: Buffer): number {
  if (field[0] & 0x80) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i];
    return value;
  }
  const text = cString(field).trim();
  return text ? Number.parseInt(text, 8) : 0;
}
