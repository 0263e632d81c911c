import fs from 'node:fs';
import os from 'node:os';

/** Who wrote a lock or a reservation, so another process can tell whether it still runs. */
export interface ProcessIdentity {
  pid: number;
  host: string;
  /** Linux boot id: a pid from before a reboot belongs to nobody, whatever runs under it now. */
  bootId?: string;
}

export function currentProcess(): ProcessIdentity {
  return { pid: process.pid, host: os.hostname(), bootId: readBootId() };
}

/**
 * 'dead' only when we can prove it: same host (and boot) and no such pid. Another host's process
 * is 'unknown'. Containers sharing a hostname but not a pid namespace would fool this; lifeline
 * assumes one host name per pid namespace.
 */
export function processLiveness(who: ProcessIdentity, me: ProcessIdentity = currentProcess()): 'alive' | 'dead' | 'unknown' {
  if (who.host !== me.host) return 'unknown';
  if (who.bootId && me.bootId && who.bootId !== me.bootId) return 'dead';
  if (!Number.isInteger(who.pid) || who.pid <= 0) return 'unknown';
  try {
    process.kill(who.pid, 0);
    return 'alive';
  } catch (error) {
    const code = (error as { code?: string }).code;
    // EPERM: the process exists but belongs to another user.
    return code === 'ESRCH' ? 'dead' : 'alive';
  }
}

function readBootId(): string | undefined {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
