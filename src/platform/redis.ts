// ioredis connections: one for commands; callers that subscribe duplicate it (a subscriber cannot send commands).
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisOptions {
  /**
   * Queue commands while disconnected (subscribers need it). Off for the command connection, so that while
   * Redis is down every cache, rate-limit and presence call fails at once and callers degrade instead of waiting.
   */
  offlineQueue?: boolean;
}

export function connectRedis(url: string, logger: Logger, name = 'main', options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: options.offlineQueue ?? true,
    connectionName: `tma-${name}`,
    // Commands issued in one tick (a batch of sends: rate limits, adapter publishes) go out in one write.
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let reported = false;
  redis.on('error', (err) => {
    if (!reported) logger.warn({ err: { message: err.message }, redis: name }, 'redis connection error');
    reported = true;
  });
  redis.on('ready', () => {
    if (reported) logger.info({ redis: name }, 'redis connection restored');
    reported = false;
  });
  return redis;
}

/** Resolves once the connection is ready, or gives up quietly at the first error or after `ms`. */
export async function settleRedis(redis: Redis, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      resolve(ok);
    };
    const onReady = () => done(true);
    const onError = () => done(false);
    const timer = setTimeout(() => done(false), ms);
    redis.once('ready', onReady);
    redis.once('error', onError);
  });
}
