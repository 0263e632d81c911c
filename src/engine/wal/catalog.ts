import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EMPTY_KEYRING, type Keyring } from '../../storage/crypto/keys.js';
import { getData } from '../../storage/crypto/objects.js';
import type { Store } from '../../storage/store.js';
import { walCodec } from './light-codec.js';
import { DEFAULT_SEGMENT_SIZE, lsnSegment, parseHistory, parseWalName, segmentName, segmentNumber, type WalFileName } from './names.js';
import { compressionOfKey, type WalCompression } from './object-format.js';

/** One archived WAL file as the repository lists it. */
export interface WalEntry extends WalFileName {
  key: string;
  compression: WalCompression;
  storedSize: number;
  modifiedAt: Date;
  /** Segment number, for segment / partial / backup files. */
  number?: number;
}

export interface WalCatalog {
  entries: WalEntry[];
  /** Segment files (not .partial) by timeline, then segment number. */
  segments: Map<number, Map<number, WalEntry>>;
  histories: Map<number, WalEntry>;
  segmentSize: number;
}

/** Everything under wal/, parsed. Objects that are not lifeline WAL objects are skipped. */
export async function readCatalog(store: Store, options: { segmentSize?: number } = {}): Promise<WalCatalog> {
  const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  const entries: WalEntry[] = [];
  const segments = new Map<number, Map<number, WalEntry>>();
  const histories = new Map<number, WalEntry>();
  for (const object of await store.list('wal/')) {
    const compression = compressionOfKey(object.key);
    if (!compression) continue;
    const base = object.key.slice(object.key.lastIndexOf('/') + 1).replace(/\.(zst|lz4|gz)$/, '');
    const parsed = parseWalName(base);
    if (!parsed) continue;
    const entry: WalEntry = {
      ...parsed,
      key: object.key,
      compression,
      storedSize: object.size,
      modifiedAt: object.modifiedAt,
      ...(parsed.log !== undefined ? { number: segmentNumber(parsed, segmentSize) } : {}),
    };
    entries.push(entry);
    if (parsed.kind === 'segment') {
      const byNumber = segments.get(parsed.timeline) ?? new Map<number, WalEntry>();
      byNumber.set(entry.number!, entry);
      segments.set(parsed.timeline, byNumber);
    } else if (parsed.kind === 'history') histories.set(parsed.timeline, entry);
  }
  return { entries, segments, histories, segmentSize };
}

/** Reads a small archived file (a .history file) whole. */
export async function readSmallWalFile(store: Store, entry: WalEntry, signal?: AbortSignal, keyring: Keyring = EMPTY_KEYRING): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const codec = walCodec(entry.compression, 'decompress');
  await Promise.all([
    pipeline(
      await getData(store, keyring, entry.key, { signal }),
      codec.stream,
      new Writable({
        write(chunk: Buffer, _enc, callback) {
          chunks.push(chunk);
          callback();
        },
      }),
      { signal },
    ),
    codec.done,
  ]);
  return Buffer.concat(chunks);
}

/** A timeline and where each of its ancestors ended, oldest first. */
export interface TimelinePath {
  timeline: number;
  /** [{timeline, beginSegment}], oldest first: segment n is read from the last entry with beginSegment <= n. */
  steps: { timeline: number; beginSegment: number; switchLsn?: string }[];
}

/** The ancestry of `timeline` from its .history file (timeline 1 has none). */
export async function timelinePath(store: Store, catalog: WalCatalog, timeline: number, signal?: AbortSignal, keyring?: Keyring): Promise<TimelinePath> {
  if (timeline === 1) return { timeline, steps: [{ timeline: 1, beginSegment: 0 }] };
  const entry = catalog.histories.get(timeline);
  if (!entry) {
    // Without its history we only know the timeline itself.
    const first = Math.min(...(catalog.segments.get(timeline)?.keys() ?? [0]));
    return { timeline, steps: [{ timeline, beginSegment: first }] };
  }
  const ancestors = parseHistory((await readSmallWalFile(store, entry, signal, keyring)).toString('utf8'));
  const steps: TimelinePath['steps'] = [];
  let begin = 0;
  for (const ancestor of ancestors) {
    steps.push({ timeline: ancestor.timeline, beginSegment: begin, switchLsn: ancestor.switchLsn });
    begin = lsnSegment(ancestor.switchLsn, catalog.segmentSize);
  }
  steps.push({ timeline, beginSegment: begin });
  return { timeline, steps };
}

/** The archived file recovery would read for segment `n` along `path` (newest timeline first, as PostgreSQL does). */
export function segmentOnPath(catalog: WalCatalog, path: TimelinePath, n: number): WalEntry | undefined {
  for (let i = path.steps.length - 1; i >= 0; i--) {
    const step = path.steps[i];
    if (step.beginSegment > n) continue;
    const entry = catalog.segments.get(step.timeline)?.get(n);
    if (entry) return entry;
  }
  return undefined;
}

/** The timeline a segment is expected on along `path`. */
export function expectedTimeline(path: TimelinePath, n: number): number {
  for (let i = path.steps.length - 1; i >= 0; i--) if (path.steps[i].beginSegment <= n) return path.steps[i].timeline;
  return path.steps[0].timeline;
}

/** Highest segment number archived on any timeline of the path. */
export function lastSegmentOnPath(catalog: WalCatalog, path: TimelinePath): number | undefined {
  let last: number | undefined;
  for (const step of path.steps) {
    for (const n of catalog.segments.get(step.timeline)?.keys() ?? []) if (n >= step.beginSegment && (last === undefined || n > last)) last = n;
  }
  return last;
}

export function nameOnPath(path: TimelinePath, n: number, segmentSize: number): string {
  return segmentName(expectedTimeline(path, n), n, segmentSize);
}
