import type { Context } from './context.js';
import type { Repository } from '../storage/repository.js';

/** The repository this invocation uses, with the configured minimum verified level (lazy import keeps start-up light). */
export async function repository(ctx: Context): Promise<Repository> {
  const { openRepository } = await import('../storage/open-repository.js');
  return openRepository(ctx.repo().url, { minimumVerifiedLevel: ctx.config.verify.minimumLevel });
}
