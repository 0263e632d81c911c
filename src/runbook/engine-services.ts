import path from 'node:path';
import { z } from 'zod';
import { LifelineError, abortError, isLifelineError } from '../errors.js';
import type { Config, TargetConfig } from '../config/schema.js';
import type { LifelinePaths } from '../config/paths.js';
import type { ConnInfo } from '../postgres/conninfo.js';
import type { BackupEntry, Repository } from '../storage/repository.js';
import type { RunServices } from './registry.js';

/**
 * What the engine-backed actions and checks share: where a step's database is (the run's target,
 * another database on its server, or a lifeline sandbox), the repository, the config, and the
 * resolution of backup references. The engine is imported lazily so that loading a runbook stays
 * cheap.
 */

const SANDBOX_NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;

/** `with:` fields every database-touching action and check accepts. */
export const whereShape = {
  database: z.string().min(1).optional().describe('another database on the same server (default: the database of the target, or of the sandbox)'),
  sandbox: z
    .string()
    .regex(SANDBOX_NAME, 'a sandbox name: lowercase letters, digits, - and _')
    .optional()
    .describe('work on this lifeline sandbox cluster (e.g. "default", "drill-restore") instead of the run\'s target'),
};
export interface Where {
  database?: string;
  sandbox?: string;
}

/** Where a step works, in words: `sandbox "drill-restore" database shop`, `the target database`. */
export function describeWhere(where: Where): string {
  if (where.sandbox) return `sandbox "${where.sandbox}"${where.database ? ` database ${where.database}` : ''}`;
  return where.database ? `database ${where.database} on the target's server` : 'the target database';
}

/** A backup reference: an id (or a unique prefix), `latest` or `latest-verified`. */
export const backupRefSchema = z.string().min(1).describe('a backup id (or unique prefix), latest or latest-verified');

export function needConfig(services: RunServices): Config {
  if (!services.config) throw missing('configuration');
  return services.config;
}

export function needPaths(services: RunServices): LifelinePaths {
  if (!services.paths) throw missing('lifeline folders');
  return services.paths;
}

export async function needRepo(services: RunServices): Promise<Repository> {
  if (!services.repo) throw missing('repository');
  return services.repo();
}

function missing(what: string): LifelineError {
  return new LifelineError('USAGE', `No ${what} is available to this run.`, { hint: 'Run it through `lifeline run`, which provides the target, the repository and the config.' });
}

/** Folder for disposable verification clusters and staged dumps. */
export const scratchDir = (services: RunServices) => path.join(needPaths(services).data, 'scratch');

export interface Located {
  conn: ConnInfo;
  /** For people, never with a password. */
  label: string;
  sandbox: boolean;
  /** The run's configured target: its preset holds for any database on its server, its scope for its own database only. */
  settings?: TargetConfig;
  otherDatabase?: boolean;
}

/**
 * The connection a step works on: the run's target (or another database on its server), or a
 * lifeline sandbox by name. A sandbox other than "default" must have been created by an earlier
 * step (sandbox.create): a step never conjures up a cluster by accident.
 */
export async function locate(services: RunServices, where: Where, signal?: AbortSignal): Promise<Located> {
  const { withDatabase, describeConn } = await import('../postgres/conninfo.js');
  if (where.sandbox) {
    const { ensureSandbox, sandboxStatus } = await import('../postgres/sandbox.js');
    const paths = needPaths(services);
    const status = await sandboxStatus({ paths, name: where.sandbox });
    if (!status.exists && where.sandbox !== 'default') {
      throw new LifelineError('SANDBOX', `Sandbox "${where.sandbox}" does not exist.`, {
        hint: `Create it in an earlier step: action: sandbox.create, with: { name: ${where.sandbox} }.`,
      });
    }
    const sandbox = await ensureSandbox({ paths, name: where.sandbox, seed: where.sandbox === 'default', signal });
    const conn = where.database ? withDatabase(sandbox.conn, where.database) : sandbox.conn;
    return { conn, label: `sandbox "${where.sandbox}" database ${conn.database}`, sandbox: true };
  }
  if (!services.connect) throw missing('database connection');
  const target = await services.connect();
  const conn = where.database ? withDatabase(target.conn, where.database) : target.conn;
  return { conn, label: where.database ? describeConn(conn) : target.label, sandbox: target.sandbox, settings: target.settings, otherDatabase: Boolean(where.database) };
}

export const isLatest = (ref: string) => ref === 'latest' || ref === 'latest-verified';

/** The backup a reference names, with its verification state. */
export async function resolveBackup(services: RunServices, ref: string): Promise<BackupEntry> {
  const repo = await needRepo(services);
  return repo.resolveBackup(ref);
}

/** Like resolveBackup, but "the repository has none (verified)" is an answer, not an error. */
export async function findBackup(services: RunServices, ref: string): Promise<BackupEntry | undefined> {
  try {
    return await resolveBackup(services, ref);
  } catch (error) {
    if (isLatest(ref) && isLifelineError(error) && error.code === 'BACKUP_NOT_FOUND') return undefined;
    throw error;
  }
}

export const backupSize = (backup: { objects: Array<{ size: number }> }) => backup.objects.reduce((sum, object) => sum + object.size, 0);

export { formatBytes } from '../format.js';

export function formatAge(fromIso: string, now = Date.now()): string {
  const ms = Math.max(0, now - Date.parse(fromIso));
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return 'less than a minute';
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.round(hours / 24)} days`;
}

/** A failure message with its hint, the way checks report what went wrong. */
export function failureDetail(error: unknown): string {
  if (isLifelineError(error)) return error.hint ? `${error.message}${/[.!?:]$/.test(error.message) ? '' : '.'} ${error.hint}` : error.message;
  return error instanceof Error ? error.message : String(error);
}

/** A check that could not measure fails, saying why; an abort stays an abort. */
export function checkFailed(error: unknown, signal: AbortSignal): { ok: false; detail: string } {
  if (signal.aborted) throw abortError(signal);
  return { ok: false, detail: failureDetail(error) };
}
