// Cross-instance fan-out: the Socket.IO Redis adapter over its own pub/sub pair, guarded so Redis loss never crashes.
import { createAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { connectRedis } from '../platform/redis.js';
import type { Io } from './fanout.js';

export interface RedisAdapter {
  /** Quits the pub/sub pair (after the namespaces' adapters closed). */
  close(): Promise<void>;
}

/** Redis pub/sub pair for the adapter; a failed publish (Redis down) must never crash the process. */
function adapterClients(url: string, logger: Logger): { pub: Redis; sub: Redis } {
  const pub = connectRedis(url, logger, 'io-pub');
  const sub = connectRedis(url, logger, 'io-sub');
  // The adapter fires these without awaiting them; a rejection must not become an unhandled one.
  const guard = (
    client: Redis,
    method: 'publish' | 'subscribe' | 'psubscribe' | 'unsubscribe' | 'punsubscribe',
  ) => {
    const target = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const original = target[method]!.bind(client);
    target[method] = (...args: unknown[]) => original(...args).catch(() => 0);
  };
  guard(pub, 'publish');
  for (const method of ['subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe'] as const)
    guard(sub, method);
  return { pub, sub };
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}

/** Attaches the Redis adapter to every namespace of `io`. */
export function attachRedisAdapter(io: Io, url: string, keyPrefix: string, logger: Logger): RedisAdapter {
  const { pub, sub } = adapterClients(url, logger);
  io.adapter(createAdapter(pub, sub, { key: `${keyPrefix}socket.io` }));
  return {
    close: async () => {
      await Promise.all([quit(pub), quit(sub)]);
    },
  };
}
