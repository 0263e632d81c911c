import { Repository } from './repository.js';
import { openStore } from './open-store.js';

export async function openRepository(url: string): Promise<Repository> {
  return new Repository(await openStore(url));
}
