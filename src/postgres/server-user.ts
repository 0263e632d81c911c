import type { Options } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LifelineError } from '../errors.js';

/**
 * The account that owns and runs a local cluster. initdb, pg_ctl and postgres refuse to run as
 * root, so as root we run them as `postgres`; otherwise as ourselves.
 */
export interface ServerUser {
  name: string;
  uid: number;
  gid: number;
  /** True when we are root and switch to `name` for server programs. */
  switched: boolean;
}

let memo: Promise<ServerUser> | undefined;

export function serverUser(): Promise<ServerUser> {
  memo ??= lookupServerUser();
  return memo;
}

async function lookupServerUser(): Promise<ServerUser> {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  if (uid !== 0) return { name: os.userInfo().username, uid, gid, switched: false };
  const name = 'postgres';
  const { execa } = await import('execa');
  const [u, g] = await Promise.all([
    execa('id', ['-u', name], { reject: false }),
    execa('id', ['-g', name], { reject: false }),
  ]);
  if (u.exitCode !== 0 || g.exitCode !== 0) {
    throw new LifelineError('SANDBOX', 'Running as root, and there is no "postgres" user to run the local cluster as.', {
      hint: 'PostgreSQL refuses to run as root: install the PostgreSQL server package (it creates the user) or run lifeline as a normal user.',
    });
  }
  return { name, uid: Number(String(u.stdout).trim()), gid: Number(String(g.stdout).trim()), switched: true };
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(path.delimiter).concat(['/usr/sbin', '/sbin'])) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return undefined;
}

/** The argv that runs `file args` as the server user (unchanged when no switch is needed). */
export async function asServerUser(file: string, args: string[]): Promise<[string, string[]]> {
  const user = await serverUser();
  if (!user.switched) return [file, args];
  const runuser = onPath('runuser');
  if (runuser) return [runuser, ['-u', user.name, '--', file, ...args]];
  const setpriv = onPath('setpriv');
  if (setpriv) return [setpriv, [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--', file, ...args]];
  throw new LifelineError('SANDBOX', 'Running as root, and neither runuser nor setpriv is available to switch to the postgres user.', {
    hint: 'Install util-linux, or run lifeline as a normal user.',
  });
}

/** Runs a server program (initdb, pg_ctl, postgres, ...) as the server user. */
export async function runAsServerUser(file: string, args: string[], options: Options = {}) {
  const [cmd, argv] = await asServerUser(file, args);
  // Loaded lazily: commands that never start a server program do not pay for execa.
  const { execa } = await import('execa');
  return execa(cmd, argv, { reject: false, stdin: 'ignore', ...options });
}

/** Gives a file or folder (and with `recursive`, everything below it) to the server user. */
export async function chownToServerUser(target: string, options: { recursive?: boolean } = {}): Promise<void> {
  const user = await serverUser();
  if (!user.switched) return;
  const walk = async (p: string): Promise<void> => {
    await fs.promises.lchown(p, user.uid, user.gid);
    if (!options.recursive) return;
    const stat = await fs.promises.lstat(p);
    if (!stat.isDirectory()) return;
    for (const entry of await fs.promises.readdir(p)) await walk(path.join(p, entry));
  };
  await walk(target);
}

/**
 * Lets the server user reach `dir`: every folder from `dir` up to / must be searchable by it. We
 * add only o+x, only where missing and only on folders we own; anything else is a clear error.
 * Returns the folders changed, so the caller can tell the operator.
 */
export async function ensureTraversable(dir: string): Promise<string[]> {
  const user = await serverUser();
  if (!user.switched) return [];
  const me = process.getuid?.() ?? 0;
  const changed: string[] = [];
  let current = path.resolve(dir);
  for (;;) {
    const stat = await fs.promises.stat(current);
    const reachable =
      (stat.mode & 0o001) !== 0 ||
      (stat.uid === user.uid && (stat.mode & 0o100) !== 0) ||
      (stat.gid === user.gid && (stat.mode & 0o010) !== 0);
    if (!reachable) {
      if (stat.uid !== me) {
        throw new LifelineError('SANDBOX', `The ${user.name} user cannot reach ${current} (not searchable, and not ours to change).`, {
          hint: `Put the cluster somewhere ${user.name} can reach, or allow it: chmod o+x ${current}`,
        });
      }
      await fs.promises.chmod(current, (stat.mode & 0o7777) | 0o001);
      changed.push(current);
    }
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return changed;
}
