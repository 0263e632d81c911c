import path from 'node:path';
import { LifelineError } from '../errors.js';
import type { Store } from './store.js';

/** The Store behind a repository URL: an absolute directory, or (later) s3://bucket/prefix. */
export async function openStore(url: string): Promise<Store> {
  if (url.startsWith('s3://')) {
    throw new LifelineError('USAGE', 'S3 repositories arrive with the S3 issue', {
      hint: 'Use a local directory for --repo for now.',
    });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new LifelineError('USAGE', `Unsupported repository URL: ${url}`, {
      hint: 'Use an absolute directory path or s3://bucket/prefix.',
    });
  }
  if (!path.isAbsolute(url)) {
    throw new LifelineError('USAGE', `The repository path must be absolute: ${url}`, {
      hint: 'Pass --repo an absolute path.',
    });
  }
  // Loaded on demand like the S3 store will be, so commands that never touch a repository stay light.
  const { LocalStore } = await import('./local-store.js');
  return new LocalStore({ root: url });
}
