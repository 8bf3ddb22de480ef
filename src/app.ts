// Builds the Fastify app (and, through the modules, the realtime server) from a Config; used by main and tests.
import { randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { type AppContext, createContext } from './context.js';
import type { Database } from './db/database.js';
import { RateLimitedError } from './errors.js';
import { registerBrowserPolicy } from './http/browser.js';
import { registerDocs } from './http/docs.js';
import { registerErrorHandling, sendError } from './http/error-handler.js';
import { registerHealthRoutes } from './http/health.js';
import { registerIpRateLimit } from './http/ip-rate-limit.js';
import { registerMetrics } from './http/metrics.js';
import { registerValidation } from './http/validation.js';
import { registerWebClient } from './http/web-client.js';
import { registerAuthHook } from './identity/auth-hook.js';
import { registerIdentity } from './identity/identity.module.js';
import { registerMaintenance, startMaintenance } from './jobs/maintenance.js';
import { createLogger, POLLED_ROUTES } from './logger.js';
import { seedAdminFromConfig } from './modules/admin/bootstrap.js';
import { registerModules } from './modules/index.js';
import { flushTracing } from './platform/tracing.js';
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
  const ctx = await createContext(config, { ...options, logger });
  const { redis, health } = ctx;

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

  app.addHook('onClose', () => ctx.close());
  app.addHook('onClose', () => flushTracing());

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
  const ipLimiter = registerIpRateLimit(app, {
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
  await seedAdminFromConfig(ctx.db, logger, config.bootstrapAdmin, config.authMode);
  await registerModules(app, ctx);
  registerWebClient(app);
  await registerMaintenance(ctx);
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
  createRealtime(app, ctx, { ipLimiter });
  await ctx.jobs.start();
  await startMaintenance(ctx);

  return app;
}
