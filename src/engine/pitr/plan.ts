import { LifelineError } from '../../errors.js';
import type { BackupEntry, Repository } from '../../storage/repository.js';
import { recoverableWindow, type RecoverableRange, type RecoverableWindow } from '../wal/window.js';
import { formatUtc, formatUtcAndLocal, type TargetTime } from './time.js';

export interface PitrPlan {
  target: TargetTime;
  window: RecoverableWindow;
  range: RecoverableRange;
  backup: BackupEntry;
}

/**
 * Picks the base backup for a target, before anything is touched: the target must lie inside a
 * recoverable range (after a base backup's end, before the last archived commit reachable from
 * it without a WAL gap); the newest base backup that ended before the target wins.
 */
export async function planPitr(options: { repo: Repository; target: TargetTime; zone: string; signal?: AbortSignal; workDir?: string }): Promise<PitrPlan> {
  const { repo, target, zone } = options;
  const window = await recoverableWindow(repo, { signal: options.signal, workDir: options.workDir });
  const at = target.at.getTime();
  const fits = window.ranges
    .filter((r) => Date.parse(r.from) <= at && at < Date.parse(r.to))
    .sort((a, b) => Date.parse(b.from) - Date.parse(a.from));
  if (!fits.length) throw outsideWindow(window, target, zone);
  const range = fits[0];
  const { backups } = await repo.listBackups();
  const backup = backups.find((b) => b.id === range.baseBackupId);
  if (!backup) throw new LifelineError('BACKUP_NOT_FOUND', `Base backup ${range.baseBackupId} vanished while planning`);
  return { target, window, range, backup };
}

export function describeWindow(window: RecoverableWindow, zone: string): string {
  if (!window.ranges.length) return 'nothing is recoverable to a point in time yet';
  const show = (iso: string) => formatUtcAndLocal(new Date(iso), zone);
  return window.ranges.map((r) => `${show(r.from)} → ${show(r.to)} (from base backup ${r.baseBackupId})`).join('; ');
}

export function describeGaps(window: RecoverableWindow): string {
  return window.gaps.map((g) => (g.count === 1 ? g.from : `${g.from}..${g.to} (${g.count} segments)`)).join(', ');
}

function outsideWindow(window: RecoverableWindow, target: TargetTime, zone: string): LifelineError {
  const shown = formatUtcAndLocal(target.at, zone, target.local);
  if (!window.ranges.length) {
    const why = window.unusable.length ? `: ${window.unusable.map((u) => `${u.baseBackupId} ${u.reason}`).join('; ')}` : '';
    return new LifelineError('RESTORE_REFUSED', `Cannot recover to ${shown}: ${describeWindow(window, zone)}${why}`, {
      hint: window.gaps.length
        ? `WAL is missing: ${describeGaps(window)}. Take a new base backup (lifeline backup --physical).`
        : 'Take a base backup (lifeline backup --physical) with archiving on (lifeline archiving check).',
    });
  }
  const earliest = Math.min(...window.ranges.map((r) => Date.parse(r.from)));
  const latest = Math.max(...window.ranges.map((r) => Date.parse(r.to)));
  const at = target.at.getTime();
  // Past the newest range, with WAL missing right after it: the archive holds later commits, but
  // recovery cannot reach them.
  const newestRange = window.ranges.reduce((a, b) => (Date.parse(b.to) > Date.parse(a.to) ? b : a));
  const cut = window.gaps.filter((g) => g.from > newestRange.lastSegment);
  const where =
    at < earliest
      ? 'before the oldest usable base backup'
      : at >= latest && cut.length
        ? `beyond a WAL gap (missing ${describeGaps({ ...window, gaps: cut })}), which recovery cannot cross`
        : at >= latest
          ? 'at or after the last archived commit'
          : 'in a stretch the archive cannot reach (a WAL gap)';
  return new LifelineError('RESTORE_REFUSED', `Target ${shown} is ${where}. Recoverable window: ${describeWindow(window, zone)}`, {
    hint: window.gaps.length
      ? `Missing WAL: ${describeGaps(window)}. Recovery cannot cross a gap; a base backup taken after it starts a new window.`
      : at >= latest
        ? 'Recovery needs a commit archived after the target: wait for archiving (archive_timeout) or run `lifeline archiving check` to switch WAL.'
        : 'Pick a time inside the window; nothing was touched.',
  });
}

/**
 * The window for `lifeline list` / `status`: undefined when the repository has neither base
 * backups nor archived WAL; otherwise the window and lines for people (gaps and timelines named).
 */
export async function windowReport(repo: Repository, zone: string, options: { signal?: AbortSignal } = {}): Promise<{ window: RecoverableWindow; lines: string[] } | undefined> {
  const { backups } = await repo.listBackups();
  const hasWal = (await repo.store.list('wal/', { limit: 1 })).length > 0;
  if (!hasWal && !backups.some((b) => b.kind === 'base')) return undefined;
  let window: RecoverableWindow;
  try {
    window = await recoverableWindow(repo, options);
  } catch (error) {
    // The listing of backups must not fail because the window could not be worked out.
    if (!(error instanceof LifelineError) || options.signal?.aborted) throw error;
    window = { ranges: [], gaps: [], timelines: [], archivedFiles: 0, unusable: [], problems: [error.message] };
  }
  const lines = [`point-in-time window: ${describeWindow(window, zone)}`];
  if (window.gaps.length) lines.push(`WAL GAP: missing ${describeGaps(window)}: recovery cannot cross it`);
  for (const t of window.timelines) lines.push(`timeline ${t.timeline} branched from timeline ${t.parent} at ${t.switchLsn}`);
  for (const u of window.unusable) lines.push(`base backup ${u.baseBackupId} is not usable for point-in-time recovery: ${u.reason}`);
  for (const p of window.problems) lines.push(`warning: ${p}`);
  if (window.lastArchived) lines.push(`last archived WAL file: ${window.lastArchived.name} at ${formatUtc(new Date(window.lastArchived.at))}`);
  return { window, lines };
}
