import fs from 'node:fs';
import { LifelineError, errnoCode } from '../../errors.js';
import type { Policy } from '../../config/policy.js';
import type { BackupEntry, Repository } from '../../storage/repository.js';
import { recoverableWindow, type RecoverableWindow } from '../wal/window.js';

export type Level = 'ok' | 'warning' | 'critical';
const RANK: Record<Level, number> = { ok: 0, warning: 1, critical: 2 };

export interface StatusCheck {
  name: string;
  level: Level;
  detail: string;
}

export interface StatusReport {
  level: Level;
  checkedAt: string;
  repository: string;
  checks: StatusCheck[];
  /** Numbers for dashboards (Prometheus names without the lifeline_ prefix). */
  metrics: {
    backupAgeSeconds: Record<string, number>;
    backupSizeBytes: Record<string, number>;
    backupsTotal: number;
    repositoryBytes: number;
    repositoryFreeBytes?: number;
    repositoryFreeRatio?: number;
    walLagSeconds?: number;
    windowSeconds?: number;
    walGaps: number;
    drillAgeSeconds?: number;
    lastVerifiedAgeSeconds?: number;
  };
}

export interface DrillRecord {
  at: string;
  outcome: string;
}

const HOUR = 3_600_000;

/** Every promise of the policy, checked against what the repository holds now. */
export async function collectStatus(options: {
  repo: Repository;
  policy: Policy;
  now?: Date;
  /** The newest drill runs (from audit logs), newest first. */
  drills?: DrillRecord[];
  /** Where a local repository lives, for free-space checks. */
  localPath?: string;
  signal?: AbortSignal;
  workDir?: string;
}): Promise<StatusReport> {
  const { repo, policy } = options;
  const now = options.now ?? new Date();
  const checks: StatusCheck[] = [];
  const { backups, problems } = await repo.listBackups();
  const metrics: StatusReport['metrics'] = { backupAgeSeconds: {}, backupSizeBytes: {}, backupsTotal: backups.length, repositoryBytes: 0, walGaps: 0 };
  const ageOf = (b: BackupEntry) => now.getTime() - Date.parse(b.finishedAt);
  const hours = (ms: number) => `${(ms / HOUR).toFixed(1)} h`;
  const grace = policy.thresholds.backupAgeGraceHours * HOUR;

  const scheduled = [
    { name: 'backup.daily', pick: (b: BackupEntry) => b.kind === 'logical' && b.label === 'daily', every: 24 * HOUR, what: 'daily logical backup' },
    { name: 'backup.pitr', pick: (b: BackupEntry) => b.kind === 'base', every: policy.schedules.pitr.everyHours * HOUR, what: 'base backup' },
  ];
  for (const s of scheduled) {
    const newest = backups.find(s.pick);
    if (!newest) {
      checks.push({ name: s.name, level: 'critical', detail: `no ${s.what} yet (policy: every ${hours(s.every)})` });
      continue;
    }
    const age = ageOf(newest);
    metrics.backupAgeSeconds[s.name.slice('backup.'.length)] = Math.round(age / 1000);
    metrics.backupSizeBytes[s.name.slice('backup.'.length)] = newest.sizeBytes;
    const level: Level = age <= s.every + grace ? 'ok' : age <= 2 * s.every + grace ? 'warning' : 'critical';
    checks.push({ name: s.name, level, detail: `newest ${s.what} ${newest.id} is ${hours(age)} old (policy: every ${hours(s.every)}, grace ${hours(grace)})` });
  }

  const newestBackup = backups[0];
  if (newestBackup) {
    const last = newestBackup.verifications.at(-1);
    const verified = backups.find((b) => b.verified);
    if (verified) metrics.lastVerifiedAgeSeconds = Math.round(ageOf(verified) / 1000);
    if (last && !last.ok) {
      checks.push({ name: 'verification', level: 'critical', detail: `newest backup ${newestBackup.id} FAILED verification at ${last.requestedLevel}: ${last.checks.find((c) => !c.ok)?.name ?? 'see lifeline verify'}` });
    } else if (newestBackup.verified) {
      checks.push({ name: 'verification', level: 'ok', detail: `newest backup ${newestBackup.id} verified at ${newestBackup.verifiedLevel}` });
    } else {
      checks.push({
        name: 'verification',
        level: ageOf(newestBackup) > grace ? 'warning' : 'ok',
        detail: `newest backup ${newestBackup.id} not verified yet${verified ? `; newest verified is ${verified.id}` : '; none is verified'}`,
      });
    }
  }
  for (const problem of problems) checks.push({ name: 'repository', level: 'critical', detail: problem.message });

  const window: RecoverableWindow | undefined = await recoverableWindow(repo, { signal: options.signal, workDir: options.workDir }).catch(() => undefined);
  if (window) checks.push(...windowChecks(window, policy, now, metrics));

  metrics.repositoryBytes = (await repo.store.list('')).reduce((sum, o) => sum + o.size, 0);
  checks.push(storageCheck(await repo.store.usage(), policy, metrics));

  const drill = options.drills?.find((d) => d.outcome === 'succeeded');
  const overdue = policy.thresholds.drillOverdueDays * 24 * HOUR;
  if (!drill) checks.push({ name: 'drill', level: 'warning', detail: `no successful recovery drill on record (policy: every ${policy.schedules.drill.everyDays} days; \`lifeline run drill\`)` });
  else {
    const age = now.getTime() - Date.parse(drill.at);
    metrics.drillAgeSeconds = Math.round(age / 1000);
    checks.push({ name: 'drill', level: age > overdue ? 'warning' : 'ok', detail: `last successful drill ${(age / 24 / HOUR).toFixed(1)} days ago (overdue after ${policy.thresholds.drillOverdueDays})` });
  }

  const level = checks.reduce<Level>((worst, c) => (RANK[c.level] > RANK[worst] ? c.level : worst), 'ok');
  return { level, checkedAt: now.toISOString(), repository: repo.store.location, checks, metrics };
}

function windowChecks(window: RecoverableWindow, policy: Policy, now: Date, metrics: StatusReport['metrics']): StatusCheck[] {
  const checks: StatusCheck[] = [];
  metrics.walGaps = window.gaps.length;
  if (!window.archivedFiles) return checks; // no PITR set up: backup.pitr already says so
  for (const gap of window.gaps) {
    checks.push({ name: 'wal.gap', level: 'critical', detail: `WAL gap on timeline ${gap.timeline}: ${gap.count} segment(s) missing, ${gap.from} … ${gap.to}` });
  }
  if (window.from && window.to) {
    const span = Date.parse(window.to) - Date.parse(window.from);
    metrics.windowSeconds = Math.round(span / 1000);
    const promised = policy.retention.pitr.days * 24 * HOUR;
    checks.push({
      name: 'window',
      level: 'ok',
      detail: `recoverable from ${window.from} to ${window.to}${span < promised ? ` (shorter than the promised ${policy.retention.pitr.days} days: still filling)` : ''}`,
    });
  } else {
    checks.push({ name: 'window', level: 'critical', detail: 'WAL is archived but no base backup can be recovered with it' });
  }
  if (window.lastArchived) {
    const lag = now.getTime() - Date.parse(window.lastArchived.at);
    metrics.walLagSeconds = Math.round(lag / 1000);
    const t = policy.thresholds;
    const level: Level = lag > t.walLagCriticalMinutes * 60_000 ? 'critical' : lag > t.walLagWarnMinutes * 60_000 ? 'warning' : 'ok';
    checks.push({ name: 'wal.lag', level, detail: `last WAL file ${window.lastArchived.name} archived ${(lag / 60_000).toFixed(1)} min ago` });
  }
  return checks;
}

function storageCheck(usage: { freeBytes?: number; totalBytes?: number }, policy: Policy, metrics: StatusReport['metrics']): StatusCheck {
  const t = policy.thresholds;
  if (usage.freeBytes !== undefined && usage.totalBytes) {
    const ratio = usage.freeBytes / usage.totalBytes;
    metrics.repositoryFreeBytes = usage.freeBytes;
    metrics.repositoryFreeRatio = Number(ratio.toFixed(4));
    const percent = ratio * 100;
    const level: Level = percent < t.minFreePercent ? 'critical' : percent < t.warnFreePercent ? 'warning' : 'ok';
    return { name: 'storage', level, detail: `${percent.toFixed(1)}% free (${(usage.freeBytes / 2 ** 30).toFixed(1)} GiB); repository holds ${(metrics.repositoryBytes / 2 ** 20).toFixed(1)} MiB` };
  }
  if (t.repositoryQuotaBytes) {
    const used = metrics.repositoryBytes / t.repositoryQuotaBytes;
    const level: Level = used > 1 - t.minFreePercent / 100 ? 'critical' : used > 1 - t.warnFreePercent / 100 ? 'warning' : 'ok';
    return { name: 'storage', level, detail: `${(used * 100).toFixed(1)}% of the ${(t.repositoryQuotaBytes / 2 ** 30).toFixed(1)} GiB quota used` };
  }
  return { name: 'storage', level: 'ok', detail: `repository holds ${(metrics.repositoryBytes / 2 ** 20).toFixed(1)} MiB (no free-space figure or quota to compare with)` };
}

/** node_exporter textfile format. */
export function toPrometheus(report: StatusReport): string {
  const lines: string[] = [];
  const gauge = (name: string, help: string, samples: [Record<string, string>, number][]) => {
    if (!samples.length) return;
    lines.push(`# HELP lifeline_${name} ${help}`, `# TYPE lifeline_${name} gauge`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',');
      lines.push(`lifeline_${name}${l ? `{${l}}` : ''} ${value}`);
    }
  };
  const m = report.metrics;
  gauge('status', 'overall status: 0 ok, 1 warning, 2 critical', [[{}, RANK[report.level]]]);
  gauge('check_status', 'each policy check: 0 ok, 1 warning, 2 critical', report.checks.map((c) => [{ check: c.name }, RANK[c.level]]));
  gauge('backup_age_seconds', 'age of the newest backup per schedule', Object.entries(m.backupAgeSeconds).map(([k, v]) => [{ schedule: k }, v]));
  gauge('backup_size_bytes', 'stored size of the newest backup per schedule', Object.entries(m.backupSizeBytes).map(([k, v]) => [{ schedule: k }, v]));
  gauge('backups', 'backups in the repository', [[{}, m.backupsTotal]]);
  gauge('repository_bytes', 'bytes stored in the repository', [[{}, m.repositoryBytes]]);
  if (m.repositoryFreeBytes !== undefined) gauge('repository_free_bytes', 'free bytes where the repository lives', [[{}, m.repositoryFreeBytes]]);
  if (m.walLagSeconds !== undefined) gauge('wal_lag_seconds', 'time since the last archived WAL file', [[{}, m.walLagSeconds]]);
  if (m.windowSeconds !== undefined) gauge('recoverable_window_seconds', 'length of the point-in-time recoverable window', [[{}, m.windowSeconds]]);
  gauge('wal_gaps', 'gaps in the WAL archive', [[{}, m.walGaps]]);
  if (m.drillAgeSeconds !== undefined) gauge('drill_age_seconds', 'time since the last successful recovery drill', [[{}, m.drillAgeSeconds]]);
  if (m.lastVerifiedAgeSeconds !== undefined) gauge('verified_backup_age_seconds', 'age of the newest verified backup', [[{}, m.lastVerifiedAgeSeconds]]);
  gauge('status_checked_timestamp_seconds', 'when this status was computed', [[{}, Math.round(Date.parse(report.checkedAt) / 1000)]]);
  return `${lines.join('\n')}\n`;
}

/**
 * Writes the textfile atomically (node_exporter must never read half a file). 0644, unlike
 * lifeline's private files: node_exporter runs as another user, and it holds no secrets.
 */
export function writePrometheusFile(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, text, { mode: 0o644 });
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw new LifelineError('USAGE', `Cannot write the Prometheus file ${file}: ${errnoCode(error) ?? (error as Error).message}`, {
      hint: 'Name a file in an existing folder lifeline may write (node_exporter\'s textfile collector directory).',
    });
  }
}
