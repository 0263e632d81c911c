import type { Context } from './context.js';
import type { Repository } from '../storage/repository.js';

/**
 * The repository this invocation uses, with the configured minimum verified level and the
 * encryption keys of the environment and config (lazy imports keep start-up light).
 */
export async function repository(ctx: Context): Promise<Repository> {
  const [{ openRepository }, { loadKeyring }] = await Promise.all([import('../storage/open-repository.js'), import('../storage/crypto/keys.js')]);
  return openRepository(ctx.repo().url, {
    minimumVerifiedLevel: ctx.config.verify.minimumLevel,
    keyring: () => loadKeyring({ env: ctx.env, settings: { keyFile: ctx.config.encryptionKeyFile, keyringFile: ctx.config.encryptionKeyringFile } }),
  });
}
