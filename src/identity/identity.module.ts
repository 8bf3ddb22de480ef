// Identity: picks the authenticator for AUTH_MODE and registers the auth routes (and, in TMS mode, the webhook).
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { AccessTokens } from './access-tokens.js';
import { authRoutes } from './auth.routes.js';
import { AuthLimiter } from './auth-limiter.js';
import { resolveJwtSecret } from './jwt-secret.js';
import { LocalAuthService } from './local-auth.service.js';
import { registerTmsIdentity } from './tms.module.js';

export async function registerIdentity(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const { config } = ctx;
  const limiter = new AuthLimiter(config.authRateLimitPerMinute, ctx.redis, config.redisKeyPrefix);
  if (config.authMode === 'local') {
    const tokens = new AccessTokens(resolveJwtSecret(config), config.accessTokenTtlSeconds, ctx.cache);
    ctx.authenticator = tokens;
    const service = new LocalAuthService(ctx, tokens, limiter);
    await app.register(authRoutes, { prefix: '/api/v1', service });
    return;
  }
  await registerTmsIdentity(app, ctx);
}
