import type { BackupEntry, Repository } from '../../storage/repository.js';
import { LifelineError, isLifelineError } from '../../errors.js';
import {
  lastSegmentOnPath,
  nameOnPath,
  readCatalog,
  segmentOnPath,
  timelinePath,
  type TimelinePath,
  type WalCatalog,
  type WalEntry,
} from './catalog.js';
import { DEFAULT_SEGMENT_SIZE, lsnSegment } from './names.js';
import { transactionEnds } from './waldump.js';

/** A stretch of time recoverable from one base backup and the WAL archived after it. */
export interface RecoverableRange {
  /** The base backup's end: recovery is consistent from here on. */
  from: string;
  /** The last archived commit (or abort) record: a target must lie before it. */
  to: string;
  baseBackupId: string;
  timeline: number;
  /** The newest timeline this range recovers along (recovery_target_timeline = latest). */
  targetTimeline: number;
  /** The last segment of the unbroken WAL run from the backup. */
  lastSegment: string;
}

export interface WalGap {
  timeline: number;
  /** First and last missing segment names. */
  from: string;
  to: string;
  count: number;
}

export interface TimelineSwitch {
  timeline: number;
  parent: number;
  /** Where the parent timeline ended (the new one branches off here). */
  switchLsn: string;
}

export interface RecoverableWindow {
  /** The oldest usable base backup's end; undefined when nothing is recoverable to a time. */
  from?: string;
  /** The last archived commit. */
  to?: string;
  ranges: RecoverableRange[];
  gaps: WalGap[];
  timelines: TimelineSwitch[];
  latestTimeline?: number;
  archivedFiles: number;
  lastArchived?: { name: string; at: string };
  /** Base backups that cannot be recovered (their own WAL is missing), and why. */
  unusable: { baseBackupId: string; reason: string }[];
  /** Things that could not be checked (e.g. pg_waldump missing). */
  problems: string[];
}

/** How far back WAL is scanned for the last commit before giving up (segments). */
const COMMIT_SEARCH_LIMIT = 32;

/**
 * The recoverable window: from the oldest usable base backup (its WAL from start to stop is
 * archived) to the last archived commit reachable from it without a gap. Gaps (missing segment
 * numbers) and timeline switches (.history files) are named.
 */
export async function recoverableWindow(repo: Repository, options: { signal?: AbortSignal; workDir?: string } = {}): Promise<RecoverableWindow> {
  const { signal } = options;
  const { backups } = await repo.listBackups();
  const bases = backups.filter((b) => b.kind === 'base' && b.startLsn && b.stopLsn && b.timeline).sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
  const segmentSize = Number(bases[0]?.extra?.walSegmentSize ?? DEFAULT_SEGMENT_SIZE);
  const catalog = await readCatalog(repo.store, { segmentSize });
  const window: RecoverableWindow = { ranges: [], gaps: [], timelines: [], archivedFiles: catalog.entries.length, unusable: [], problems: [] };
  const newest = [...catalog.entries].sort((a, b) => b.modifiedAt.getTime() - a.modifiedAt.getTime())[0];
  if (newest) window.lastArchived = { name: newest.name, at: newest.modifiedAt.toISOString() };

  const timelines = [...new Set([...catalog.segments.keys(), ...catalog.histories.keys()])].sort((a, b) => a - b);
  window.latestTimeline = timelines.at(-1);
  const paths = new Map<number, TimelinePath>();
  for (const timeline of timelines) {
    try {
      const path = await timelinePath(repo.store, catalog, timeline, signal, repo.keyring);
      paths.set(timeline, path);
      const parent = path.steps.at(-2);
      if (parent?.switchLsn) window.timelines.push({ timeline, parent: parent.timeline, switchLsn: parent.switchLsn });
    } catch (error) {
      if (!isLifelineError(error)) throw error;
      window.problems.push(`cannot read ${timeline}.history: ${error.message}`);
    }
  }

  // Gaps along the newest timeline's path, from the oldest base backup (or the oldest segment).
  const latestPath = window.latestTimeline ? paths.get(window.latestTimeline) : undefined;
  if (latestPath) {
    const onPath = bases.filter((b) => latestPath.steps.some((s) => s.timeline === b.timeline));
    const first = onPath.length ? lsnSegment(onPath[0].startLsn!, segmentSize) : firstSegmentOnPath(catalog, latestPath);
    const last = lastSegmentOnPath(catalog, latestPath);
    if (first !== undefined && last !== undefined) window.gaps = findGaps(catalog, latestPath, first, last);
  }

  const major = bases.length ? Math.floor(bases[bases.length - 1].serverVersionNum / 10000) : undefined;
  const commitCache = new Map<number, Promise<Date | LifelineError | undefined>>();
  for (const backup of bases) {
    const path = pathFor(paths, backup);
    if (!path) {
      window.unusable.push({ baseBackupId: backup.id, reason: `no WAL archived on timeline ${backup.timeline}` });
      continue;
    }
    const start = lsnSegment(backup.startLsn!, segmentSize);
    const stop = lsnSegment(backup.stopLsn!, segmentSize);
    let end = start - 1;
    while (segmentOnPath(catalog, path, end + 1)) end++;
    if (end < stop) {
      window.unusable.push({
        baseBackupId: backup.id,
        reason: `WAL segment ${nameOnPath(path, end + 1, segmentSize)} (needed to make it consistent) is not archived`,
      });
      continue;
    }
    if (major === undefined) continue;
    let lastCommit = commitCache.get(end);
    if (!lastCommit) {
      lastCommit = lastCommitAt(repo, catalog, path, end, start, major, options).catch((error: unknown) => {
        if (!isLifelineError(error)) throw error;
        return error;
      });
      commitCache.set(end, lastCommit);
    }
    const to = await lastCommit;
    if (to instanceof LifelineError) {
      const reason = `cannot read commit times from the WAL: ${to.message}`;
      if (!window.problems.includes(reason)) window.problems.push(reason);
      window.unusable.push({ baseBackupId: backup.id, reason });
      continue;
    }
    const from = new Date(backup.finishedAt);
    if (!to || to.getTime() <= from.getTime()) {
      window.unusable.push({ baseBackupId: backup.id, reason: 'no commit archived after it yet (recovery to a time needs a later commit)' });
      continue;
    }
    window.ranges.push({
      from: from.toISOString(),
      to: to.toISOString(),
      baseBackupId: backup.id,
      timeline: backup.timeline!,
      targetTimeline: path.timeline,
      lastSegment: nameOnPath(path, end, segmentSize),
    });
  }
  if (window.ranges.length) {
    window.from = window.ranges.map((r) => r.from).sort()[0];
    window.to = window.ranges.map((r) => r.to).sort().at(-1);
  }
  return window;
}

/** The newest timeline whose ancestry holds the backup's timeline. */
function pathFor(paths: Map<number, TimelinePath>, backup: BackupEntry): TimelinePath | undefined {
  const candidates = [...paths.values()].filter((p) => p.steps.some((s) => s.timeline === backup.timeline)).sort((a, b) => b.timeline - a.timeline);
  return candidates[0];
}

function firstSegmentOnPath(catalog: WalCatalog, path: TimelinePath): number | undefined {
  let first: number | undefined;
  for (const step of path.steps) {
    for (const n of catalog.segments.get(step.timeline)?.keys() ?? []) if (n >= step.beginSegment && (first === undefined || n < first)) first = n;
  }
  return first;
}

function findGaps(catalog: WalCatalog, path: TimelinePath, first: number, last: number): WalGap[] {
  const gaps: WalGap[] = [];
  let open: { start: number; end: number } | undefined;
  const close = () => {
    if (!open) return;
    const from = nameOnPath(path, open.start, catalog.segmentSize);
    gaps.push({ timeline: Number.parseInt(from.slice(0, 8), 16), from, to: nameOnPath(path, open.end, catalog.segmentSize), count: open.end - open.start + 1 });
    open = undefined;
  };
  for (let n = first; n <= last; n++) {
    if (segmentOnPath(catalog, path, n)) close();
    else if (open) open.end = n;
    else open = { start: n, end: n };
  }
  close();
  return gaps;
}

/** The newest commit/abort time in segments `end` down to `floor`, reading back at most COMMIT_SEARCH_LIMIT segments. */
async function lastCommitAt(
  repo: Repository,
  catalog: WalCatalog,
  path: TimelinePath,
  end: number,
  floor: number,
  major: number,
  options: { signal?: AbortSignal; workDir?: string },
): Promise<Date | undefined> {
  for (let n = end; n >= floor && n > end - COMMIT_SEARCH_LIMIT; n--) {
    const entry: WalEntry | undefined = segmentOnPath(catalog, path, n);
    if (!entry) return undefined;
    const ends = await transactionEnds({ store: repo.store, keyring: repo.keyring, entry, major, workDir: options.workDir, signal: options.signal });
    if (ends.length) return new Date(Math.max(...ends.map((e) => e.at.getTime())));
  }
  return undefined;
}
