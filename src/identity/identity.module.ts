// Identity routes for AUTH_MODE: local accounts, or (TMS mode) the webhook and pass-through auth routes.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { authRoutes } from './auth.routes.js';
import { AuthLimiter } from './auth-limiter.js';
import { LocalAuthService } from './local-auth.service.js';
import { registerTmsIdentity } from './tms.module.js';

export async function registerIdentity(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const { config, identity } = ctx;
  if (identity.mode === 'tms') {
    await registerTmsIdentity(app, ctx, identity.tms);
    return;
  }
  const limiter = new AuthLimiter(config.authRateLimitPerMinute, ctx.redis, config.redisKeyPrefix);
  const service = new LocalAuthService(ctx, identity.authenticator, limiter);
  await app.register(authRoutes, { prefix: '/api/v1', service });
}
