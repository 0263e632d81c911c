import path from 'node:path';
import { LifelineError } from '../errors.js';
import { redactText } from '../redact.js';
import type { StoreSettings } from './s3/settings.js';
import type { Store } from './store.js';

/**
 * The Store behind a repository URL: an absolute directory, or s3://bucket/prefix. `settings`
 * (repository.mode, .group, .s3) default to the config file's, read without conf or zod so that
 * wal-push stays light. The AWS SDK is loaded only here, and only for an s3:// URL.
 */
export async function openStore(url: string, settings?: StoreSettings): Promise<Store> {
  if (url.startsWith('s3://')) {
    const resolved = settings ?? (await import('./s3/settings.js')).readStoreSettings();
    // Before the SDK loads: it warns about Node 20 otherwise (see s3/quiet.ts).
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const { S3Store } = await import('./s3-store.js');
    return new S3Store({ url, settings: resolved.s3 });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new LifelineError('USAGE', `Unsupported repository URL: ${redactText(url)}`, {
      hint: 'Use an absolute directory path or s3://bucket/prefix.',
    });
  }
  if (!path.isAbsolute(url)) {
    throw new LifelineError('USAGE', `The repository path must be absolute: ${redactText(url)}`, {
      hint: 'Pass --repo an absolute path.',
    });
  }
  const [{ LocalStore }, resolved] = await Promise.all([
    import('./local-store.js'),
    settings ?? import('./s3/settings.js').then(({ readStoreSettings }) => readStoreSettings()),
  ]);
  return new LocalStore({ root: url, mode: resolved.mode, group: resolved.group });
}
