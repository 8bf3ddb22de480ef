// Identity: picks the authenticator for AUTH_MODE and registers the auth routes (and, in TMS mode, the webhook).
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { AccessTokens } from './access-tokens.js';
import { authRoutes } from './auth.routes.js';
import { AuthLimiter } from './auth-limiter.js';
import { resolveJwtSecret } from './jwt-secret.js';
import { LocalAuthService } from './local-auth.service.js';
import { SessionsRepository } from './sessions.repository.js';
import { registerTmsIdentity } from './tms.module.js';

export async function registerIdentity(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const { config } = ctx;
  const limiter = new AuthLimiter(config.authRateLimitPerMinute, ctx.redis, config.redisKeyPrefix);
  if (config.authMode === 'local') {
    const sessions = new SessionsRepository(ctx.db);
    const tokens = new AccessTokens(
      resolveJwtSecret(config),
      config.accessTokenTtlSeconds,
      ctx.cache,
      (sid, userId) => sessions.revocationState(sid, userId),
    );
    ctx.authenticator = tokens;
    const service = new LocalAuthService(ctx, tokens, limiter);
    await app.register(authRoutes, { prefix: '/api/v1', service });
    scheduleSessionCleanup(ctx);
    return;
  }
  await registerTmsIdentity(app, ctx);
}

const CLEANUP_EVERY_MS = 3_600_000;
/** Expired refresh tokens are kept a day longer, so a late reuse is still recognised as reuse. */
const EXPIRED_GRACE_MS = 86_400_000;

function scheduleSessionCleanup(ctx: AppContext): void {
  const sessions = new SessionsRepository(ctx.db);
  const timer = setInterval(() => {
    sessions
      .deleteExpired(new Date(Date.now() - EXPIRED_GRACE_MS))
      .catch((err: Error) => ctx.logger.warn({ err: { message: err.message } }, 'session cleanup failed'));
  }, CLEANUP_EVERY_MS);
  timer.unref();
  ctx.onClose(() => clearInterval(timer));
}
