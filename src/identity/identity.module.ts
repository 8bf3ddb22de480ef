// Identity: picks the authenticator for AUTH_MODE and registers the auth routes.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { AccessTokens } from './access-tokens.js';
import { resolveJwtSecret } from './jwt-secret.js';

export async function registerIdentity(_app: FastifyInstance, ctx: AppContext): Promise<void> {
  const { config } = ctx;
  if (config.authMode === 'local') {
    ctx.authenticator = new AccessTokens(resolveJwtSecret(config), config.accessTokenTtlSeconds, ctx.cache);
    return;
  }
  throw new Error('AUTH_MODE=tms is not available yet');
}
