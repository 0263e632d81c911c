/**
 * Errors a user can act on. The CLI edge prints `message` and `hint` and maps `exitCode`;
 * anything that is not a LifelineError is a bug and keeps its stack trace.
 */
export type ErrorCode =
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'DB_UNREACHABLE'
  | 'DB_AUTH'
  | 'DB_NOT_FOUND'
  | 'DB_PRIVILEGE'
  | 'DB_QUERY'
  /** The connection goes through a transaction-mode pooler, which cannot carry a session-long tool. */
  | 'DB_POOLER'
  | 'TOOL_MISSING'
  | 'TOOL_TOO_OLD'
  | 'TOOL_FAILED'
  | 'SANDBOX'
  | 'REPO_UNWRITABLE'
  | 'REPO_FULL'
  /** A local folder lifeline works in (scratch: staged dumps, disposable clusters) has no space left. */
  | 'DISK_FULL'
  | 'REPO_LOCKED'
  | 'REPO_CORRUPT'
  | 'REPO_READ'
  /** The object store refused us: wrong credentials, no such bucket, wrong region, access denied. */
  | 'REPO_AUTH'
  /** The object store cannot be reached (connection refused/reset, DNS, timeouts) after retries. */
  | 'REPO_UNREACHABLE'
  /** The repository was written by a newer lifeline (lifeline.json formatVersion). */
  | 'REPO_VERSION'
  /** A Store object is absent (callers map it to BACKUP_NOT_FOUND, a missing WAL file, ...). */
  | 'OBJECT_NOT_FOUND'
  | 'BACKUP_NOT_FOUND'
  | 'BACKUP_AMBIGUOUS'
  | 'BACKUP_FAILED'
  | 'VERIFY_FAILED'
  | 'RESTORE_FAILED'
  | 'RESTORE_REFUSED'
  | 'INPUT_NEEDED'
  /** wal-push: the archive already holds a file of that name with different content. */
  | 'WAL_CONFLICT'
  /** WAL archiving is not set up or not working (archive_mode, archive_command, failures). */
  | 'ARCHIVING_BROKEN'
  /** Point-in-time recovery failed or did not reach its target. */
  | 'PITR_FAILED'
  /** Encryption: a key is needed (an encrypted object, an encrypted repository) and none is set. */
  | 'KEY_MISSING'
  /** Encryption: the object was encrypted with a key that is not among the loaded ones. */
  | 'KEY_WRONG'
  /** Encryption: a chunk failed authentication (the stored bytes were truncated, reordered or altered). */
  | 'DECRYPT_FAILED'
  | 'ABORTED';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  warning: 3,
  inputNeeded: 4,
  /** SIGINT (Ctrl-C), after cleaning up: 128 + 2, as shells report it. */
  interrupted: 130,
  /** SIGTERM (a service manager, kill), after cleaning up: 128 + 15. */
  terminated: 143,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const exitFor: Partial<Record<ErrorCode, ExitCode>> = {
  USAGE: EXIT.usage,
  CONFIG_INVALID: EXIT.usage,
  INPUT_NEEDED: EXIT.inputNeeded,
  ABORTED: EXIT.interrupted,
};

export class LifelineError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'LifelineError';
    this.code = code;
    this.hint = options.hint;
  }

  get exitCode(): ExitCode {
    return exitFor[this.code] ?? EXIT.failure;
  }
}

export function isLifelineError(error: unknown): error is LifelineError {
  return error instanceof LifelineError;
}

/** Node's system errors (ENOSPC, EACCES, ...) carry a `code` string. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function abortError(signal?: AbortSignal): LifelineError {
  const reason = signal?.reason;
  if (reason instanceof LifelineError) return reason;
  return new LifelineError('ABORTED', 'Interrupted.', { hint: 'Nothing was left half-written; run the command again.' });
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError(signal);
}
