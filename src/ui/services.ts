import type { AuditRunSummary } from '../audit/list.js';
import type { ContactInfo } from '../runbook/events.js';
import type { BackupEntry, RepositoryProblem } from '../storage/repository.js';
import type { RunController } from './state/runController.js';

/**
 * Everything the screens show comes through these functions, built by the CLI layer
 * (src/cli/tui.ts): the UI itself opens no repository, runs no query and starts no process.
 */
export interface Overview {
  /** "the sandbox" or a redacted description of the target. */
  target: string;
  sandbox: boolean;
  repository: string;
  operator: string;
}

export interface Health {
  lastBackup?: { id: string; finishedAt: string; sizeBytes: number; verifiedLevel?: string };
  lastVerification?: { backupId: string; finishedAt: string; ok: boolean; level?: string };
  /** The recoverable window, when base backups and WAL make one (else undefined). */
  window?: { from: string; to: string };
  lastDrill?: { id: string; startedAt: string; outcome: string };
  /** Lines that need attention (no verified backup, backup too old, ...). */
  warnings: string[];
}

export interface RunbookSummary {
  id: string;
  title: string;
  kind?: string;
  description?: string;
  source: 'user' | 'shipped';
  /** A file that does not load: shown with its first problem, never started. */
  problem?: string;
}

export interface BackupList {
  backups: BackupEntry[];
  problems: RepositoryProblem[];
}

export interface StatusReport {
  /** ok | warning | critical, as `lifeline status` exits 0 / 3 / 1. */
  level: 'ok' | 'warning' | 'critical';
  lines: Array<{ level: 'ok' | 'warning' | 'critical' | 'info'; text: string }>;
}

export interface AuditReport {
  markdown: string;
  /** The hash chain is intact. */
  intact: boolean;
  problem?: string;
}

export interface StartRunOptions {
  /** A runbook id or file. */
  runbook?: string;
  params?: Record<string, string>;
  resume?: string;
}

export interface TuiServices {
  overview(): Promise<Overview>;
  health(): Promise<Health>;
  /**
   * The runbooks by file and stated title, read without validating them: the home screen's first
   * frame lists these, in their final order, until loadRunbooks() has checked them.
   */
  quickRunbooks?(): RunbookSummary[];
  loadRunbooks(): Promise<RunbookSummary[]>;
  listBackups(): Promise<BackupList>;
  status(): Promise<StatusReport>;
  auditRuns(): Promise<AuditRunSummary[]>;
  auditReport(runId: string): Promise<AuditReport>;
  contacts(): ContactInfo[];
  /** IANA zone times are read back in (the config's `timezone`), if any. */
  timezone?: string;
  /**
   * Starts a run that reports to `controller` (events, questions, params) and resolves when it
   * ends; failures to start are reported through controller.fail().
   */
  startRun(options: StartRunOptions, controller: RunController): Promise<void>;
}
