/**
 * WAL file names as PostgreSQL archives them:
 *   000000010000000A000000FE            a segment (timeline, log, seg: 8 hex digits each)
 *   00000002.history                    a timeline history file
 *   000000010000000A000000FE.00000028.backup   a backup history file
 *   000000010000000A000000FE.partial    the last, incomplete segment of a timeline (after promote)
 */
export type WalFileKind = 'segment' | 'history' | 'backup' | 'partial';

export interface WalFileName {
  name: string;
  kind: WalFileKind;
  timeline: number;
  /** Segment number (log * segmentsPerLog + seg) for segment, backup and partial files. */
  log?: number;
  seg?: number;
}

const SEGMENT = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
const HISTORY = /^([0-9A-F]{8})\.history$/;
const BACKUP = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.[0-9A-F]{8}\.backup$/;
const PARTIAL = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.partial$/;

export const DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024;

/** Parses a WAL file name; undefined for anything PostgreSQL would not archive. */
export function parseWalName(name: string): WalFileName | undefined {
  let m = SEGMENT.exec(name);
  if (m) return withSegment(name, 'segment', m);
  m = HISTORY.exec(name);
  if (m) {
    const timeline = parseInt(m[1], 16);
    return timeline > 0 ? { name, kind: 'history', timeline } : undefined;
  }
  m = BACKUP.exec(name);
  if (m) return withSegment(name, 'backup', m);
  m = PARTIAL.exec(name);
  if (m) return withSegment(name, 'partial', m);
  return undefined;
}

function withSegment(name: string, kind: WalFileKind, m: RegExpExecArray): WalFileName | undefined {
  const timeline = parseInt(m[1], 16);
  if (timeline === 0) return undefined;
  return { name, kind, timeline, log: parseInt(m[2], 16), seg: parseInt(m[3], 16) };
}

export function timelineHex(timeline: number): string {
  return timeline.toString(16).toUpperCase().padStart(8, '0');
}

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

/** Segments per "log" (the middle 8 hex digits): 0x100000000 / segment size. */
export function segmentsPerLog(segmentSize = DEFAULT_SEGMENT_SIZE): number {
  return 0x100000000 / segmentSize;
}

/** A segment's position as one number (log * segmentsPerLog + seg). */
export function segmentNumber(file: { log?: number; seg?: number }, segmentSize = DEFAULT_SEGMENT_SIZE): number {
  return (file.log ?? 0) * segmentsPerLog(segmentSize) + (file.seg ?? 0);
}

export function segmentName(timeline: number, number: number, segmentSize = DEFAULT_SEGMENT_SIZE): string {
  const per = segmentsPerLog(segmentSize);
  return `${hex8(timeline)}${hex8(Math.floor(number / per))}${hex8(number % per)}`;
}

/** "16/B374D848" → a BigInt byte position. */
export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim());
  if (!m) throw new Error(`Not an LSN: ${lsn}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(position: bigint): string {
  return `${(position >> 32n).toString(16).toUpperCase()}/${(position & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** The segment number holding byte `lsn`. */
export function lsnSegment(lsn: string, segmentSize = DEFAULT_SEGMENT_SIZE): number {
  return Number(parseLsn(lsn) / BigInt(segmentSize));
}

/** Parses a timeline history file: one `<parent tli>\t<switch LSN>\t<reason>` line per ancestor. */
export function parseHistory(text: string): { timeline: number; switchLsn: string }[] {
  const out: { timeline: number; switchLsn: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+([0-9A-Fa-f]+\/[0-9A-Fa-f]+)/.exec(line);
    if (m) out.push({ timeline: Number(m[1]), switchLsn: m[2].toUpperCase() });
  }
  return out;
}
