import { LifelineError, abortError } from '../../errors.js';

/** How pg_dump's failures read to the operator (both dump formats). */

/** PostgreSQL's lock_not_available (lock_timeout expired) as the same error pg_dump gives. */
export function lockTimeout(error: unknown): never {
  if ((error as { code?: string }).code === '55P03') {
    throw new LifelineError('BACKUP_FAILED', `could not lock a table in time: ${(error as Error).message}`, {
      hint: 'A long-running DDL or transaction holds a lock; retry later or raise backup.lockWaitTimeoutSeconds.',
    });
  }
  throw error;
}

export function dumpError(result: { exitCode?: number; signal?: string; isCanceled?: boolean }, stderrTail: string[], signal?: AbortSignal): Error {
  if (signal?.aborted) return abortError(signal);
  const lastError = [...stderrTail].reverse().find((line) => /error|fatal/i.test(line)) ?? stderrTail.at(-1) ?? '';
  const detail = lastError.replace(/^pg_dump: (error: )?/, '');
  if (result.signal) {
    return new LifelineError('BACKUP_FAILED', `pg_dump was killed (${result.signal}); no backup was recorded.`, {
      hint: 'Run the backup again; nothing partial was kept.',
    });
  }
  if (/lock/i.test(detail) && /timeout|could not obtain/i.test(detail)) {
    return new LifelineError('BACKUP_FAILED', `pg_dump could not lock a table in time: ${detail}`, {
      hint: 'A long-running DDL or transaction holds a lock; retry later or raise backup.lockWaitTimeoutSeconds.',
    });
  }
  return new LifelineError('BACKUP_FAILED', `pg_dump failed (exit ${result.exitCode}): ${detail}`, {
    hint: 'Check the database connection and the role\'s privileges (it must be able to read every table).',
  });
}
