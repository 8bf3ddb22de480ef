// ioredis connections: one for commands; callers that subscribe duplicate it (a subscriber cannot send commands).
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export function connectRedis(url: string, logger: Logger, name = 'main'): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectionName: `tma-${name}`,
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
