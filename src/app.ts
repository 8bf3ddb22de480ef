// Builds the Fastify app (and, through the modules, the realtime server) from a Config; used by main and tests.
import { randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { AppContext } from './context.js';
import { type Database, openDatabase } from './db/database.js';
import { RateLimitedError } from './errors.js';
import { EventBus } from './events/bus.js';
import { registerBrowserPolicy } from './http/browser.js';
import { registerDocs } from './http/docs.js';
import { registerErrorHandling, sendError } from './http/error-handler.js';
import { HealthRegistry, registerHealthRoutes } from './http/health.js';
import { registerIpRateLimit } from './http/ip-rate-limit.js';
import { AppMetrics, registerMetrics } from './http/metrics.js';
import { registerValidation } from './http/validation.js';
import type { Authenticator } from './identity/actor.js';
import { registerAuthHook } from './identity/auth-hook.js';
import { registerIdentity } from './identity/identity.module.js';
import { JobQueue } from './jobs/job-queue.js';
import { createLogger, POLLED_ROUTES } from './logger.js';
import { registerModules } from './modules/index.js';
import { createServices, type Services } from './modules/services.js';
import { type Cache, MemoryCache, RedisCache } from './platform/cache.js';
import { connectRedis, settleRedis } from './platform/redis.js';
import { createRealtime } from './realtime/server.js';
import { VERSION } from './version.js';

export interface BuildAppOptions {
  /** An already open (and migrated) database; the app takes ownership and closes it. */
  database?: Database;
  /** PGlite: start from this migrated template instead of an empty cluster (tests). */
  pgliteTemplate?: Blob;
  logger?: Logger;
}

declare module 'fastify' {
  interface FastifyInstance {
    tma: AppContext;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export { createLogger };

export async function buildApp(config: Config, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const logger = options.logger ?? createLogger(config);
  const closers: Array<() => Promise<void> | void> = [];
  const database =
    options.database ?? (await openDatabase(config, logger, { pgliteTemplate: options.pgliteTemplate }));
  closers.push(() => database.close());

  const redis = config.redisUrl
    ? connectRedis(config.redisUrl, logger, 'main', { offlineQueue: false })
    : undefined;
  if (redis && !(await settleRedis(redis, 3000)))
    logger.warn('Redis is not reachable yet: running degraded until it is');
  if (redis) closers.push(async () => void (await redis.quit().catch(() => redis.disconnect())));
  const cache: Cache = redis ? new RedisCache(redis, config.redisKeyPrefix) : new MemoryCache();

  const health = new HealthRegistry();
  health.register('database', 'critical', () => database.ping());
  if (redis) health.register('redis', 'degraded', async () => void (await redis.ping()));

  let authenticator: Authenticator | undefined;
  const ctx: AppContext = {
    config,
    logger,
    database,
    db: database.db,
    redis,
    cache,
    bus: new EventBus(logger),
    jobs: new JobQueue({
      db: database.db,
      kind: database.kind,
      logger,
      pollIntervalMs: config.jobs.pollIntervalMs,
      workers: config.jobs.workers,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
    }),
    health,
    metrics: new AppMetrics(database),
    get authenticator(): Authenticator {
      if (!authenticator) throw new Error('authenticator used before the identity module registered it');
      return authenticator;
    },
    set authenticator(value: Authenticator) {
      authenticator = value;
    },
    onClose: (fn) => closers.push(fn),
    services: undefined as unknown as Services,
  };
  ctx.services = createServices(ctx);
  closers.push(() => ctx.jobs.stop());

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestIdHeader: false,
    // Errors raised before routing (bad URL encoding, over-long path parameters) get the envelope too.
    frameworkErrors: (error, _request, reply) =>
      error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? sendError(reply, 414, 'uri_too_long', 'A path parameter is too long')
        : sendError(reply, 400, 'validation_error', 'Malformed URL', { field: 'url' }),
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
  });
  app.decorate('tma', ctx);

  app.addHook('onClose', async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (err) {
        logger.warn({ err }, 'error while closing');
      }
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    // Probe and scraper polls would drown the other request lines at info.
    const level = route !== undefined && POLLED_ROUTES.has(route) ? 'debug' : 'info';
    request.log[level](
      {
        method: request.method,
        route: request.routeOptions.url ?? null,
        url: request.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        user_id: request.actor?.userId ?? null,
      },
      'request',
    );
  });

  registerErrorHandling(app);
  registerValidation(app);

  await registerBrowserPolicy(app, config);

  // Per client IP before authentication, so requests with a missing or forged token are counted too.
  registerIpRateLimit(app, {
    perMinute: config.rateLimitGlobalPerMinute,
    redis,
    keyPrefix: config.redisKeyPrefix,
  });
  registerAuthHook(app, () => ctx.authenticator);

  // Per user after authentication (anonymous requests have only the per-IP limit).
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => `user:${request.actor?.userId}`,
    redis,
    nameSpace: `${config.redisKeyPrefix}rl:`,
    skipOnError: true,
    allowList: (request) => request.actor === null || request.url.startsWith('/health'),
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.ttl / 1000),
  });

  await registerDocs(app, VERSION);
  registerHealthRoutes(app, health, VERSION);
  registerMetrics(app, ctx.metrics, config);
  await registerIdentity(app, ctx);
  await registerModules(app, ctx);
  const sends = ctx.services.messages.sendStats;
  ctx.metrics.counter(
    'tma_message_write_batches_total',
    'Batched message writes (statements)',
    () => sends.batches,
  );
  ctx.metrics.counter(
    'tma_message_write_batched_total',
    'Messages stored by batched writes',
    () => sends.messages,
  );
  // After the modules (services exist); drains sockets in preClose and closes before the database.
  createRealtime(app, ctx);
  await ctx.jobs.start();

  return app;
}
