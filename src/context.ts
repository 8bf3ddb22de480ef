// Everything a module needs, built once per app instance by createContext and passed down explicitly.
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { type Database, openDatabase } from './db/database.js';
import type { DB } from './db/schema.js';
import { EventBus } from './events/bus.js';
import { HealthRegistry } from './http/health.js';
import { AppMetrics } from './http/metrics.js';
import type { Authenticator } from './identity/actor.js';
import { createIdentity, type Identity } from './identity/identity.js';
import { JobQueue } from './jobs/job-queue.js';
import { createServices, type Services } from './modules/services.js';
import { type Cache, MemoryCache, RedisCache } from './platform/cache.js';
import { connectRedis, settleRedis } from './platform/redis.js';

export interface AppContext {
  config: Config;
  logger: Logger;
  database: Database;
  db: Kysely<DB>;
  /** Shared Redis connection when REDIS_URL is set. */
  redis: Redis | undefined;
  cache: Cache;
  bus: EventBus;
  /** Durable job queue (src/jobs): enqueue inside business transactions; started after the modules register. */
  jobs: JobQueue;
  health: HealthRegistry;
  /** The AUTH_MODE's authenticator, and in TMS mode the TMS client, directory and sync. */
  identity: Identity;
  /** Verifies access tokens (REST auth hook and socket handshakes): `identity.authenticator`. */
  authenticator: Authenticator;
  /** Prometheus metrics; modules add their registries with metrics.include(). */
  metrics: AppMetrics;
  /** Feature services (see src/modules/services.ts). */
  services: Services;
  /** Resources to release when the app closes, in reverse order of registration. */
  onClose(fn: () => Promise<void> | void): void;
  /** Releases everything registered with onClose, last first (the app's onClose hook calls it). */
  close(): Promise<void>;
}

export interface CreateContextOptions {
  logger: Logger;
  /** An already open (and migrated) database; the context takes ownership and closes it. */
  database?: Database;
  /** PGlite: start from this migrated template instead of an empty cluster (tests). */
  pgliteTemplate?: Blob;
}

/**
 * Opens the database and Redis and builds the context in dependency order: platform (cache, bus, jobs,
 * health, metrics), then identity, then the services. Modules register on the result; nothing is set later.
 */
export async function createContext(config: Config, options: CreateContextOptions): Promise<AppContext> {
  const { logger } = options;
  const closers: Array<() => Promise<void> | void> = [];
  const onClose = (fn: () => Promise<void> | void) => void closers.push(fn);
  // Each resource gets the shutdown timeout (and 5 s more) to close; one that hangs (a database pool waiting for
  // a connection that is never given back) is left behind with a warning rather than holding the whole close.
  const closeWithin = Math.max(1000, config.shutdownTimeoutMs) + 5000;
  const close = async () => {
    for (const fn of closers.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), closeWithin);
      });
      try {
        const outcome = await Promise.race([Promise.resolve().then(fn), late]);
        if (outcome === 'late')
          logger.warn(
            { closer: fn.name || fn.toString().slice(0, 60), ms: closeWithin },
            'still closing; going on',
          );
      } catch (err) {
        logger.warn({ err }, 'error while closing');
      } finally {
        clearTimeout(timer);
      }
    }
  };

  const database =
    options.database ?? (await openDatabase(config, logger, { pgliteTemplate: options.pgliteTemplate }));
  onClose(() => database.close());

  const redis = config.redisUrl
    ? connectRedis(config.redisUrl, logger, 'main', { offlineQueue: false })
    : undefined;
  if (redis && !(await settleRedis(redis, 3000)))
    logger.warn('Redis is not reachable yet: running degraded until it is');
  if (redis) onClose(async () => void (await redis.quit().catch(() => redis.disconnect())));
  const cache: Cache = redis ? new RedisCache(redis, config.redisKeyPrefix) : new MemoryCache();

  const health = new HealthRegistry();
  health.register('database', 'critical', () => database.ping());
  if (redis) health.register('redis', 'degraded', async () => void (await redis.ping()));

  const jobs = new JobQueue({
    db: database.db,
    kind: database.kind,
    logger,
    pollIntervalMs: config.jobs.pollIntervalMs,
    workers: config.jobs.workers,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
  });
  const platform = {
    config,
    logger,
    database,
    db: database.db,
    redis,
    cache,
    bus: new EventBus(logger),
    jobs,
    health,
    metrics: new AppMetrics(database),
    onClose,
    close,
  };
  const identity = createIdentity(platform);
  const withIdentity = { ...platform, identity, authenticator: identity.authenticator };
  const services = createServices(withIdentity);
  // Registered after the services, so it runs before them at close; modules' closers run before it.
  onClose(() => jobs.stop());
  return { ...withIdentity, services };
}
