import { createHash, hkdfSync, randomBytes } from 'node:crypto';

/*
 * The encrypted object format (version 1), a STREAM construction over AES-256-GCM:
 *
 *   header (48 bytes)
 *     0  magic "LLENC"          5
 *     5  version (1)            1
 *     6  log2 of the chunk size 1   (20: 1 MiB)
 *     7  reserved (0)           1
 *     8  key fingerprint        8   (keys.ts keyFingerprint, as bytes)
 *    16  salt                  16   random per object
 *    32  nonce prefix           7   random per object
 *    39  reserved (0)           1
 *    40  check                  8   first 8 bytes of sha256(bytes 0..39): a damaged header says so
 *   chunk 0, chunk 1, ...: each the AES-256-GCM ciphertext of up to `chunk size` plain bytes
 *     followed by its 16-byte tag; every chunk but the last holds exactly `chunk size` bytes.
 *
 * Each object gets its own key, HKDF-SHA256(repository key, salt, "lifeline stream v1"). Chunk i
 * is sealed with nonce = prefix (7) || i as uint32 big-endian (4) || final flag (1: 0x01 on the
 * last chunk, else 0x00), and the whole header as additional data. So a chunk moved to another
 * place, another object's chunk, a dropped last chunk (the new last one was not sealed as final),
 * bytes appended after the final chunk and any flipped bit all fail authentication.
 */

export const MAGIC = Buffer.from('LLENC', 'latin1');
export const FORMAT_VERSION = 1;
export const HEADER_SIZE = 48;
export const TAG_SIZE = 16;
export const DEFAULT_CHUNK_LOG2 = 20;
/** What the manifest records as the encryption algorithm. */
export const ALGORITHM = 'aes-256-gcm-stream-v1';

const CHUNK_LOG2_RANGE = [4, 24] as const;
const HKDF_INFO = Buffer.from('lifeline stream v1', 'latin1');

export interface Header {
  bytes: Buffer;
  version: number;
  chunkSize: number;
  fingerprint: string;
  salt: Buffer;
  noncePrefix: Buffer;
}

export function createHeader(fingerprint: string, chunkLog2 = DEFAULT_CHUNK_LOG2): Header {
  if (chunkLog2 < CHUNK_LOG2_RANGE[0] || chunkLog2 > CHUNK_LOG2_RANGE[1]) throw new Error(`chunk size 2^${chunkLog2} out of range`);
  const bytes = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(bytes, 0);
  bytes[5] = FORMAT_VERSION;
  bytes[6] = chunkLog2;
  Buffer.from(fingerprint, 'hex').copy(bytes, 8);
  randomBytes(16).copy(bytes, 16);
  randomBytes(7).copy(bytes, 32);
  headerCheck(bytes).copy(bytes, 40);
  return parsed(bytes);
}

export type HeaderProblem = 'damaged' | 'version' | 'chunk size';

/** The header at the start of `bytes` (HEADER_SIZE of them), or what is wrong with it. */
export function readHeader(bytes: Buffer): Header | HeaderProblem {
  if (!headerCheck(bytes).equals(bytes.subarray(40, HEADER_SIZE))) return 'damaged';
  if (bytes[5] !== FORMAT_VERSION) return 'version';
  if (bytes[6] < CHUNK_LOG2_RANGE[0] || bytes[6] > CHUNK_LOG2_RANGE[1]) return 'chunk size';
  return parsed(Buffer.from(bytes.subarray(0, HEADER_SIZE)));
}

/** Whether `start` (the first bytes of an object, at least MAGIC.length of them) opens an encrypted object. */
export function startsEncrypted(start: Buffer): boolean {
  return start.length >= MAGIC.length && start.subarray(0, MAGIC.length).equals(MAGIC);
}

/** The object's own AES-256 key. */
export function objectKey(repositoryKey: Buffer, header: Header): Buffer {
  return Buffer.from(hkdfSync('sha256', repositoryKey, header.salt, HKDF_INFO, 32));
}

export function chunkNonce(header: Header, index: number, final: boolean): Buffer {
  if (index > 0xffffffff) throw new Error('encrypted object too large (more than 2^32 chunks)');
  const nonce = Buffer.alloc(12);
  header.noncePrefix.copy(nonce, 0);
  nonce.writeUInt32BE(index, 7);
  nonce[11] = final ? 1 : 0;
  return nonce;
}

function headerCheck(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes.subarray(0, 40)).digest().subarray(0, 8);
}

function parsed(bytes: Buffer): Header {
  return {
    bytes,
    version: bytes[5],
    chunkSize: 2 ** bytes[6],
    fingerprint: bytes.subarray(8, 16).toString('hex'),
    salt: bytes.subarray(16, 32),
    noncePrefix: bytes.subarray(32, 39),
  };
}
