// The per-IP request limit: an onRequest hook registered before the auth hook, so requests with a missing or
// forged token are counted too (the per-user limit runs after authentication, in app.ts).
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { RateLimitedError } from '../errors.js';

const WINDOW_SECONDS = 60;

export interface IpRateLimitOptions {
  /** Requests per client IP per minute (RATE_LIMIT_GLOBAL_PER_MINUTE). */
  perMinute: number;
  /** Shared by every instance when set; an in-memory limiter stands in while it is unreachable. */
  redis: Redis | undefined;
  keyPrefix: string;
}

/** Liveness and readiness probes are never limited. */
const exempt = (url: string) => url === '/health' || url.startsWith('/health/') || url.startsWith('/health?');

export function createIpLimiter(options: IpRateLimitOptions): RateLimiterAbstract {
  const memory = new RateLimiterMemory({
    points: options.perMinute,
    duration: WINDOW_SECONDS,
    keyPrefix: 'ip',
  });
  if (!options.redis) return memory;
  return new RateLimiterRedis({
    storeClient: options.redis,
    points: options.perMinute,
    duration: WINDOW_SECONDS,
    keyPrefix: `${options.keyPrefix}rl-ip`,
    // While Redis reconnects, count in memory (per instance) instead of queueing behind a dead connection.
    rejectIfRedisNotReady: true,
    insuranceLimiter: memory,
  });
}

/**
 * Every request but the health probes costs one point of its client IP, before anything else looks at it.
 * Returns the limiter, so WebSocket upgrades spend the same budget.
 */
export function registerIpRateLimit(app: FastifyInstance, options: IpRateLimitOptions): RateLimiterAbstract {
  const limiter = createIpLimiter(options);
  app.addHook('onRequest', async (request) => {
    if (exempt(request.url)) return;
    try {
      await limiter.consume(request.ip);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) throw new RateLimitedError(rejection.msBeforeNext / 1000);
      // Store failure beyond the insurance limiter: serve rather than refuse everyone.
      request.log.warn({ err: { message: (rejection as Error).message } }, 'ip rate limit unavailable');
    }
  });
  return limiter;
}
