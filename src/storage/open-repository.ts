import { openStore } from './open-store.js';
import { Repository, type RepositoryOptions } from './repository.js';

/** The Repository at a repository URL (an absolute directory, later s3://bucket/prefix). */
export async function openRepository(url: string, options: RepositoryOptions = {}): Promise<Repository> {
  return new Repository(await openStore(url), options);
}
