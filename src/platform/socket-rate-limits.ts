// Event rate limits for sockets: shared by every instance through Redis, in memory when Redis is absent or down.
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface EventLimiter {
  /** Resolves with 0 when allowed, or the seconds to wait when the key is over its limit. */
  consume(key: string): Promise<number>;
}

export function createEventLimiter(options: {
  name: string;
  points: number;
  durationSeconds: number;
  redis: Redis | undefined;
  keyPrefix: string;
}): EventLimiter {
  const memory = new RateLimiterMemory({
    keyPrefix: options.name,
    points: options.points,
    duration: options.durationSeconds,
  });
  const limiter = options.redis
    ? new RateLimiterRedis({
        storeClient: options.redis,
        keyPrefix: `${options.keyPrefix}rl-socket:${options.name}`,
        points: options.points,
        duration: options.durationSeconds,
        // While Redis reconnects, count in memory instead of queueing behind a dead connection.
        rejectIfRedisNotReady: true,
        insuranceLimiter: memory,
      })
    : memory;
  return {
    async consume(key: string): Promise<number> {
      try {
        await limiter.consume(key);
        return 0;
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
        // Store failure beyond the insurance limiter: let the event through rather than block chat.
        return 0;
      }
    },
  };
}
