import fs from 'node:fs';
import path from 'node:path';
import { LifelineError, errnoCode } from '../errors.js';
import { ensureDir } from '../fs-util.js';
import type { RunEvent } from '../runbook/events.js';
import { GENESIS, lineHash, type AuditLine } from './chain.js';
import { redactSecrets } from './redact.js';

export const auditFile = (auditDir: string, runId: string) => path.join(auditDir, `${runId}.jsonl`);

export interface AuditLogOptions {
  /** <state>/audit */
  dir: string;
  runId: string;
  runbook: string;
  operator: string;
  host: string;
}

/**
 * The audit trail of one run: <state>/audit/<run-id>.jsonl, one event a line, appended and
 * fsynced before `append` resolves (the Runner waits for it before it goes on). A resumed run
 * continues the same file and the same chain.
 */
export class AuditLog {
  readonly file: string;
  private readonly options: AuditLogOptions;
  private handle?: fs.promises.FileHandle;
  private seq = 0;
  private prev = GENESIS;

  private constructor(options: AuditLogOptions) {
    this.options = options;
    this.file = auditFile(options.dir, options.runId);
  }

  static async open(options: AuditLogOptions): Promise<AuditLog> {
    const log = new AuditLog(options);
    ensureDir(options.dir);
    let existing = '';
    try {
      existing = await fs.promises.readFile(log.file, 'utf8');
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
    if (existing && !existing.endsWith('\n')) {
      // Only a line whose write never completed lacks its newline: it was never acknowledged.
      existing = existing.slice(0, existing.lastIndexOf('\n') + 1);
      await fs.promises.truncate(log.file, Buffer.byteLength(existing));
    }
    const lines = existing.split('\n').filter(Boolean);
    if (lines.length) {
      const last = JSON.parse(lines[lines.length - 1]) as AuditLine;
      log.seq = last.seq;
      log.prev = last.hash;
    }
    log.handle = await fs.promises.open(log.file, 'a', 0o600);
    if (!lines.length) await syncDir(options.dir);
    return log;
  }

  /** A sink for Runner.subscribe: resolves once the line is on disk. */
  readonly append = async (event: RunEvent): Promise<void> => {
    if (!this.handle) throw new Error('audit log is closed');
    const line: Omit<AuditLine, 'hash'> = {
      seq: this.seq + 1,
      time: event.time,
      runId: event.runId,
      operator: this.options.operator,
      host: this.options.host,
      runbook: this.options.runbook,
      step: event.step,
      kind: event.kind,
      data: redactSecrets(event.data),
      prev: this.prev,
    };
    const hash = lineHash(line);
    try {
      // Written in reading order; the hash covers the canonical (sorted) form, which verify rebuilds.
      await this.handle.write(`${JSON.stringify({ ...line, hash })}\n`);
      await this.handle.sync();
    } catch (error) {
      throw new LifelineError('REPO_UNWRITABLE', `Cannot write the audit trail ${this.file}: ${(error as Error).message}`, {
        hint: 'The run stops rather than go on unrecorded; free space or fix permissions, then --resume it.',
        cause: error,
      });
    }
    this.seq = line.seq;
    this.prev = hash;
  };

  get lastHash(): string {
    return this.prev;
  }

  get lines(): number {
    return this.seq;
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the file's own fsync still holds.
  } finally {
    await handle.close();
  }
}
