import type { CompressionChoice } from '../compress/spec.js';
import { timelineHex, type WalFileName } from './names.js';

/**
 * How one archived WAL file is stored: `wal/<timeline>/<name>.zst` (or `.gz`), a standard
 * compressed stream that `zstd -dc` / `gzip -dc` read as they are, followed by a TRAILER that
 * those tools skip: a zstd skippable frame, or an empty gzip member whose header carries an extra
 * field. (lz4 frames have the same skippable frames as zstd, which `lz4 -dc` skips.) The trailer holds the sha256 and size of the plain file.
 *
 * Why a trailer rather than a sidecar or an index: the WAL archive is written by many short
 * processes without a lock, so each WAL file must be ONE immutable object created atomically
 * (ifNotExists): a second object could go missing or disagree, and an index would need a lock.
 * With the checksum inside, push compares content on a name clash (same bytes: success;
 * different: loud failure) by reading the last few bytes, and fetch proves the bytes it hands
 * to PostgreSQL before renaming them into place.
 */
export type WalCompression = 'zstd' | 'lz4' | 'gzip';

export const WAL_EXTENSIONS: Record<WalCompression, string> = { zstd: '.zst', lz4: '.lz4', gzip: '.gz' };
export const WAL_COMPRESSIONS = Object.keys(WAL_EXTENSIONS) as WalCompression[];

/**
 * The stored codec and level for a `--compress` choice. `none` is a gzip container at level 0
 * (stored blocks: no compression work), so the file still carries its trailer in a standard stream.
 */
export function walCompressionFor(choice: CompressionChoice): { compression: WalCompression; level?: number } {
  return choice.algorithm === 'none' ? { compression: 'gzip', level: 0 } : { compression: choice.algorithm, ...(choice.level === undefined ? {} : { level: choice.level }) };
}

/** `wal/<timeline as 8 hex digits>/<name><ext>` (the Repository's walKey, without loading zod). */
export function walObjectKey(file: WalFileName, compression: WalCompression): string {
  return `${walFolder(file.timeline)}${file.name}${WAL_EXTENSIONS[compression]}`;
}

export function walFolder(timeline: number): string {
  return `wal/${timelineHex(timeline)}/`;
}

/** The compression a stored key uses, from its extension. */
export function compressionOfKey(key: string): WalCompression | undefined {
  if (key.endsWith('.zst')) return 'zstd';
  if (key.endsWith('.lz4')) return 'lz4';
  if (key.endsWith('.gz')) return 'gzip';
  return undefined;
}

export interface TrailerFacts {
  /** Lowercase hex sha256 of the plain WAL file. */
  sha256: string;
  size: number;
}

const MAGIC = Buffer.from('LLWAL\x00\x01\x00', 'latin1');
const PAYLOAD = MAGIC.length + 32 + 8;
const ZSTD_SKIPPABLE = 0x184d2a5e;

export const TRAILER_SIZE: Record<WalCompression, number> = {
  zstd: 8 + PAYLOAD,
  lz4: 8 + PAYLOAD,
  gzip: 10 + 2 + 4 + PAYLOAD + 2 + 8,
};

function payload(facts: TrailerFacts): Buffer {
  const out = Buffer.alloc(PAYLOAD);
  MAGIC.copy(out, 0);
  Buffer.from(facts.sha256, 'hex').copy(out, MAGIC.length);
  out.writeBigUInt64LE(BigInt(facts.size), MAGIC.length + 32);
  return out;
}

export function encodeTrailer(compression: WalCompression, facts: TrailerFacts): Buffer {
  const body = payload(facts);
  if (compression !== 'gzip') {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(ZSTD_SKIPPABLE, 0);
    head.writeUInt32LE(body.length, 4);
    return Buffer.concat([head, body]);
  }
  // gzip member: ID1 ID2 CM=8 FLG=FEXTRA MTIME(4) XFL OS=255, XLEN, subfield "LW" + LEN + data,
  // then an empty deflate block and CRC32/ISIZE of nothing (zeros).
  const header = Buffer.from([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255]);
  const xlen = Buffer.alloc(2);
  xlen.writeUInt16LE(4 + body.length);
  const sub = Buffer.alloc(4);
  sub.write('LW', 0, 'latin1');
  sub.writeUInt16LE(body.length, 2);
  return Buffer.concat([header, xlen, sub, body, Buffer.from([0x03, 0x00]), Buffer.alloc(8)]);
}

/** Reads the trailer from the last TRAILER_SIZE bytes of an object; undefined when it has none. */
export function decodeTrailer(compression: WalCompression, tail: Buffer): TrailerFacts | undefined {
  const size = TRAILER_SIZE[compression];
  if (tail.length < size) return undefined;
  const bytes = tail.subarray(tail.length - size);
  let body: Buffer;
  if (compression !== 'gzip') {
    if (bytes.readUInt32LE(0) !== ZSTD_SKIPPABLE || bytes.readUInt32LE(4) !== PAYLOAD) return undefined;
    body = bytes.subarray(8);
  } else {
    if (bytes[0] !== 0x1f || bytes[1] !== 0x8b || bytes[3] !== 4 || bytes.toString('latin1', 12, 14) !== 'LW') return undefined;
    body = bytes.subarray(16, 16 + PAYLOAD);
  }
  if (!body.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  return {
    sha256: body.subarray(MAGIC.length, MAGIC.length + 32).toString('hex'),
    size: Number(body.readBigUInt64LE(MAGIC.length + 32)),
  };
}
