import { createHash, randomBytes } from 'node:crypto';
import fsp, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifelineError, abortError, errnoCode, throwIfAborted } from '../errors.js';
import { fileSink } from './file-sink.js';
import {
  TEMP_PREFIX,
  assertValidKey,
  assertValidPrefix,
  type GetOptions,
  type ListOptions,
  type ObjectInfo,
  type PutOptions,
  type PutResult,
  type Store,
  type StoreUsage,
} from './store.js';

/**
 * private: only the OS user lifeline runs as (files 0600, folders 0700), the default.
 * shared-group: the members of one group, e.g. a cron job's user and `postgres` running
 * archive_command (files 0660, folders 2770 so new entries inherit the group, each chgrp'd).
 */
export type RepositoryMode = 'private' | 'shared-group';
export const repositoryModes = ['private', 'shared-group'] as const;

export interface LocalStoreOptions {
  /** Absolute path of the repository folder; created on the first write. */
  root: string;
  /** Modes of every file and folder this store creates (default private). */
  mode?: RepositoryMode;
  /** shared-group: the group (name or numeric id) that owns what this store creates. */
  group?: string | number;
}

const MODES: Record<RepositoryMode, { file: number; dir: number }> = {
  private: { file: 0o600, dir: 0o700 },
  'shared-group': { file: 0o660, dir: 0o2770 },
};
const MISSING = new Set(['ENOENT', 'ENOTDIR']);

/** A Store over a local directory: atomic puts (temp + fsync + rename), private or group modes. */
export class LocalStore implements Store {
  readonly location: string;
  readonly mode: RepositoryMode;
  readonly #fileMode: number;
  readonly #dirMode: number;
  readonly #group?: string | number;
  #gid?: Promise<number | undefined>;

  constructor(options: LocalStoreOptions) {
    if (!path.isAbsolute(options.root)) {
      throw new LifelineError('USAGE', `The repository path must be absolute: ${options.root}`, {
        hint: 'Pass --repo an absolute path (or an s3:// URL).',
      });
    }
    this.location = path.resolve(options.root);
    this.mode = options.mode ?? 'private';
    if (!MODES[this.mode]) {
      throw new LifelineError('CONFIG_INVALID', `Unknown repository mode "${String(options.mode)}"`, { hint: 'Use private or shared-group.' });
    }
    if (this.mode === 'shared-group' && (options.group === undefined || options.group === '')) {
      throw new LifelineError('CONFIG_INVALID', 'repository.mode is shared-group but no repository.group is set', {
        hint: 'Name the group both users belong to: `lifeline config set repository.group <group>`.',
      });
    }
    this.#fileMode = MODES[this.mode].file;
    this.#dirMode = MODES[this.mode].dir;
    this.#group = this.mode === 'shared-group' ? options.group : undefined;
  }

  /** The numeric group of shared-group mode (resolved from /etc/group once), undefined when private. */
  #groupId(): Promise<number | undefined> {
    this.#gid ??= resolveGroup(this.#group).catch((error: unknown) => {
      this.#gid = undefined;
      throw error;
    });
    return this.#gid;
  }

  async put(key: string, body: Readable | Buffer | string, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    const { signal } = options;
    throwIfAborted(signal);
    const file = this.#file(key);
    const dir = path.dirname(file);
    const tmp = path.join(dir, `${TEMP_PREFIX}${path.basename(file).slice(0, 200)}-${randomBytes(6).toString('hex')}`);
    const source = typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([Buffer.from(body)]) : body;

    const hash = createHash('sha256');
    let size = 0;
    let sourceError: unknown;
    let sinkError: unknown;
    let handle: FileHandle | undefined;
    try {
      handle = await this.#createTemp(dir, tmp, key);
      const sink = fileSink(handle, (error) => {
        sinkError ??= error;
      });
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer | string>) {
          try {
            for await (const chunk of chunks) {
              const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
              hash.update(bytes);
              size += bytes.length;
              yield bytes;
            }
          } catch (error) {
            sourceError = error;
            throw error;
          }
        },
        sink,
        { signal },
      );
      await handle.close();
      handle = undefined;

      let created = true;
      if (options.ifNotExists) {
        // link() fails with EEXIST when the key exists: of two racing puts only one creates.
        try {
          await fsp.link(tmp, file);
        } catch (error) {
          const code = errnoCode(error);
          if (code && ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(code)) {
            throw new LifelineError('REPO_UNWRITABLE', `The file system of ${this.location} has no hard links, which lifeline needs to create files atomically`, {
              hint: 'Put the repository on a Linux file system (ext4, xfs, btrfs, NFS) rather than FAT/exFAT or a share without links.',
              cause: error,
            });
          }
          if (code !== 'EEXIST') throw error;
          created = false;
        }
        await fsp.unlink(tmp);
      } else {
        await fsp.rename(tmp, file);
      }
      if (created) await syncDir(dir);
      return { key, size, sha256: hash.digest('hex'), created };
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await fsp.unlink(tmp).catch(() => undefined);
      if (signal?.aborted) throw abortError(signal);
      if (sinkError === undefined && sourceError !== undefined) throw sourceError;
      throw this.#writeError(sinkError ?? error, key, tmp);
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    assertValidKey(key);
    const { signal, start, end } = options;
    if (start !== undefined && !(Number.isInteger(start) && start >= 0)) throw new Error(`Invalid range start ${start}`);
    if (end !== undefined && !(Number.isInteger(end) && end >= (start ?? 0))) throw new Error(`Invalid range end ${end}`);
    throwIfAborted(signal);
    const file = this.#file(key);
    let handle: FileHandle;
    try {
      handle = await fsp.open(file, 'r');
    } catch (error) {
      if (MISSING.has(errnoCode(error) ?? '')) throw this.#notFound(key);
      throw readError(error, file);
    }
    try {
      if (!(await handle.stat()).isFile()) throw this.#notFound(key);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error instanceof LifelineError ? error : readError(error, file);
    }
    const input = handle.createReadStream({ start, end, autoClose: true, highWaterMark: 1 << 20 });
    async function* relay() {
      try {
        for await (const chunk of input) yield chunk as Buffer;
      } catch (error) {
        throw signal?.aborted ? abortError(signal) : readError(error, file);
      } finally {
        input.destroy();
      }
    }
    const output = Readable.from(relay(), { objectMode: false });
    if (signal) {
      const onAbort = () => output.destroy(abortError(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      output.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    return output;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    const file = this.#file(key);
    try {
      const stat = await fsp.stat(file);
      return stat.isFile() ? { key, size: stat.size, modifiedAt: stat.mtime } : undefined;
    } catch (error) {
      if (MISSING.has(errnoCode(error) ?? '')) return undefined;
      throw readError(error, file);
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ObjectInfo[]> {
    assertValidPrefix(prefix);
    const limit = options.limit ?? Infinity;
    const out: ObjectInfo[] = [];
    if (limit <= 0) return out;
    for await (const file of this.#walk(prefix, false)) {
      out.push({ key: file.key, size: file.size, modifiedAt: file.modifiedAt });
      if (out.length >= limit) break;
    }
    return out;
  }

  async deletePartial(prefix: string, options: { olderThan: Date }): Promise<{ count: number; bytes: number }> {
    assertValidPrefix(prefix);
    const stale: { full: string; size: number }[] = [];
    for await (const file of this.#walk(prefix, true)) {
      if (file.modifiedAt < options.olderThan) stale.push(file);
    }
    let bytes = 0;
    for (const file of stale) {
      try {
        await fsp.unlink(file.full);
        bytes += file.size;
      } catch (error) {
        if (!MISSING.has(errnoCode(error) ?? '')) throw this.#writeError(error, prefix, file.full);
      }
    }
    await this.#removeEmptyFolders(stale.map((file) => path.dirname(file.full)));
    return { count: stale.length, bytes };
  }

  /**
   * Files under `prefix` in key order: objects, or (temps) the temp files of unfinished puts,
   * matched by the key they were going to become. Entries sorted by name, folders as "name/",
   * visited depth first, come out in global key order (S3's order), so a limit can stop early.
   */
  async *#walk(prefix: string, temps: boolean): AsyncGenerator<{ key: string; full: string; size: number; modifiedAt: Date }> {
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash + 1) : '';
    const location = this.location;
    async function* walk(dir: string, keyPrefix: string): AsyncGenerator<{ key: string; full: string; size: number; modifiedAt: Date }> {
      let entries;
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (MISSING.has(errnoCode(error) ?? '')) return;
        throw readError(error, dir);
      }
      const sorted = entries
        .map((entry) => ({ entry, sortKey: entry.isDirectory() ? `${entry.name}/` : entry.name }))
        .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
      for (const { entry } of sorted) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          const folder = `${keyPrefix}${entry.name}/`;
          if (folder.startsWith(prefix) || prefix.startsWith(folder)) yield* walk(full, folder);
          continue;
        }
        const isTemp = entry.name.startsWith(TEMP_PREFIX);
        if (isTemp !== temps) continue;
        const name = isTemp ? entry.name.slice(TEMP_PREFIX.length).replace(/-[0-9a-f]{12}$/, '') : entry.name;
        if (!(keyPrefix + name).startsWith(prefix)) continue;
        try {
          const stat = await fsp.stat(full);
          if (stat.isFile()) yield { key: keyPrefix + name, full, size: stat.size, modifiedAt: stat.mtime };
        } catch (error) {
          // Deleted while we listed: it is simply not there.
          if (!MISSING.has(errnoCode(error) ?? '')) throw readError(error, full);
        }
      }
    }
    yield* walk(dirKey ? path.join(location, ...dirKey.slice(0, -1).split('/')) : location, dirKey);
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) assertValidKey(key);
    const folders = new Set<string>();
    for (const key of keys) {
      const file = this.#file(key);
      try {
        await fsp.unlink(file);
      } catch (error) {
        if (MISSING.has(errnoCode(error) ?? '')) continue;
        throw this.#writeError(error, key, file);
      }
      folders.add(path.dirname(file));
    }
    await this.#removeEmptyFolders([...folders]);
  }

  async usage(): Promise<StoreUsage> {
    let dir = this.location;
    for (;;) {
      try {
        const stats = await fsp.statfs(dir);
        return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
      } catch (error) {
        const parent = path.dirname(dir);
        if (!MISSING.has(errnoCode(error) ?? '') || parent === dir) throw readError(error, dir);
        dir = parent;
      }
    }
  }

  /** Empty folders are invisible on S3; remove them here too (deepest first, never the root). */
  async #removeEmptyFolders(folders: string[]): Promise<void> {
    const ordered = [...new Set(folders)].sort((a, b) => b.length - a.length);
    for (let dir of ordered) {
      while (dir.length > this.location.length && dir.startsWith(this.location + path.sep)) {
        try {
          await fsp.rmdir(dir);
        } catch {
          break;
        }
        dir = path.dirname(dir);
      }
    }
  }

  #file(key: string): string {
    return path.join(this.location, ...key.split('/'));
  }

  async #createTemp(dir: string, tmp: string, key: string): Promise<FileHandle> {
    const gid = await this.#groupId();
    // A concurrent delete may remove an emptied folder between our mkdir and open: retry a little.
    for (let attempt = 0; ; attempt++) {
      await makeDirs(dir, this.#dirMode, gid, this.location).catch((error: unknown) => {
        throw this.#groupError(error, gid) ?? error;
      });
      let handle: FileHandle | undefined;
      try {
        handle = await fsp.open(tmp, 'wx', this.#fileMode);
        const owner = await inheritedOwner(dir, this.location);
        if (owner) await handle.chown(owner.uid, gid ?? owner.gid);
        else if (gid !== undefined) await handle.chown(-1, gid);
        await handle.chmod(this.#fileMode);
        return handle;
      } catch (error) {
        if (handle) {
          await handle.close().catch(() => undefined);
          await fsp.unlink(tmp).catch(() => undefined);
        }
        const groupError = this.#groupError(error, gid);
        if (groupError) throw groupError;
        if (errnoCode(error) !== 'ENOENT' || attempt >= 5) throw this.#writeError(error, key, tmp);
      }
    }
  }

  /** chgrp refused: this user is not a member of the configured group. */
  #groupError(error: unknown, gid: number | undefined): LifelineError | undefined {
    if (gid === undefined || errnoCode(error) !== 'EPERM' || (error as { syscall?: string }).syscall !== 'fchown' && (error as { syscall?: string }).syscall !== 'chown') return undefined;
    return new LifelineError('REPO_UNWRITABLE', `Cannot give ${this.location} to group ${String(this.#group)}: this user is not a member`, {
      hint: `Add the user to the group (usermod -aG ${String(this.#group)} <user>, then log in again), or change repository.group.`,
      cause: error,
    });
  }

  #notFound(key: string): LifelineError {
    return new LifelineError('OBJECT_NOT_FOUND', `No ${key} in the repository ${this.location}`, {
      hint: 'Check the repository location (--repo) and `lifeline list`.',
    });
  }

  #writeError(error: unknown, key: string, file: string): LifelineError {
    if (error instanceof LifelineError) return error;
    const code = errnoCode(error);
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      return new LifelineError('REPO_FULL', `Repository is full: ${this.location} (while writing ${key})`, {
        hint: 'Free space on that volume (e.g. `lifeline prune`) or point --repo at a larger one.',
        cause: error,
      });
    }
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EROFS'
          ? 'read-only file system'
          : code === 'ENOTDIR' || code === 'EEXIST'
            ? 'a part of the path is a file, not a folder'
            : ((error as Error | undefined)?.message ?? String(error));
    const where = (error as { path?: unknown } | undefined)?.path;
    return new LifelineError('REPO_UNWRITABLE', `Repository is not writable: ${typeof where === 'string' ? where : file} (${why})`, {
      hint: 'Make the folder writable for this user, or point --repo (or LIFELINE_REPO) elsewhere.',
      cause: error,
    });
  }
}

function readError(error: unknown, file: string): LifelineError {
  if (error instanceof LifelineError) return error;
  const code = errnoCode(error);
  const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : ((error as Error | undefined)?.message ?? String(error));
  return new LifelineError('REPO_READ', `Cannot read ${file} (${why})`, {
    hint: 'Check the repository disk and its permissions.',
    cause: error,
  });
}

/**
 * mkdir -p with `mode` (and group `gid`) on every folder it creates, whatever the umask. Step by
 * step rather than `recursive: true`, which reports ENOENT instead of EROFS/EACCES on some file systems.
 */
async function makeDirs(dir: string, mode: number, gid: number | undefined, root: string): Promise<void> {
  const missing: string[] = [];
  let existing = dir;
  for (let current = dir; ; current = path.dirname(current)) {
    try {
      if ((await fsp.stat(current)).isDirectory()) {
        existing = current;
        break;
      }
      // A file where a folder should be: let mkdir below report it (EEXIST/ENOTDIR).
      missing.push(current);
      break;
    } catch (error) {
      if (!MISSING.has(errnoCode(error) ?? '') || path.dirname(current) === current) throw error;
      missing.push(current);
    }
  }
  const owner = await inheritedOwner(existing, root);
  for (const folder of missing.reverse()) {
    try {
      await fsp.mkdir(folder, { mode: mode & 0o777 });
    } catch (error) {
      if (errnoCode(error) === 'EEXIST' && (await fsp.stat(folder)).isDirectory()) continue; // a concurrent put made it
      throw error;
    }
    // chown before chmod: changing the group clears the setgid bit for non-root users.
    if (owner) await fsp.chown(folder, owner.uid, gid ?? owner.gid);
    else if (gid !== undefined) await fsp.chown(folder, -1, gid);
    await fsp.chmod(folder, mode);
  }
}

/**
 * Run as root inside a repository folder that belongs to another user (the server's user, after
 * `lifeline archiving setup --apply` shared it), what root creates takes that folder's owner:
 * a root-owned wal/<timeline>/ folder would lock the server's archive_command out of it.
 * Undefined otherwise (not root, a root-owned folder, or a folder outside the repository).
 */
async function inheritedOwner(folder: string, root: string): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0 || (folder !== root && !folder.startsWith(root + path.sep))) return undefined;
  const stat = await fsp.stat(folder).catch(() => undefined);
  return stat && stat.uid !== 0 ? { uid: stat.uid, gid: stat.gid } : undefined;
}

/** A group name or id to its numeric id, from /etc/group (Node has no getgrnam). */
export async function resolveGroup(group: string | number | undefined): Promise<number | undefined> {
  if (group === undefined) return undefined;
  if (typeof group === 'number' || /^\d+$/.test(group)) return Number(group);
  let text = '';
  try {
    text = await fsp.readFile('/etc/group', 'utf8');
  } catch {
    text = '';
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new LifelineError('CONFIG_INVALID', `repository.group names "${group}", which is not a group on this machine`, {
    hint: `Create it (groupadd ${group}) and add both users to it, or set repository.group to an existing group.`,
  });
}

/** The rename is durable only once the folder's entry is on disk. */
async function syncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    if (!['EINVAL', 'ENOTSUP', 'EBADF'].includes(errnoCode(error) ?? '')) throw error;
  } finally {
    await handle.close();
  }
}
