import { loadKeyring } from './crypto/keys.js';
import { openStore } from './open-store.js';
import { Repository, type RepositoryOptions } from './repository.js';

/**
 * The Repository at a repository URL (an absolute directory or s3://bucket/prefix). Encryption
 * keys default to those of the environment and the config file (crypto/keys.ts), loaded when
 * first needed.
 */
export async function openRepository(url: string, options: RepositoryOptions = {}): Promise<Repository> {
  return new Repository(await openStore(url), { ...options, keyring: options.keyring ?? (() => loadKeyring()) });
}
