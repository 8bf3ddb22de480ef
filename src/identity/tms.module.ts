// AUTH_MODE=tms: token verification, user directory, background sync, webhook and pass-through auth routes.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { authRoutes } from './auth.routes.js';
import { TmsAuthService } from './tms-auth.service.js';
import { TmsAuthenticator } from './tms-authenticator.js';
import { TmsClient } from './tms-client.js';
import { TmsDirectory } from './tms-directory.js';
import { TmsSync } from './tms-sync.js';
import { tmsWebhookRoutes } from './tms-webhook.routes.js';
import { TmsWebhooks } from './tms-webhooks.js';
import { TolerantCache } from './tolerant-cache.js';

export interface TmsIdentity {
  client: TmsClient;
  directory: TmsDirectory;
  authenticator: TmsAuthenticator;
  sync: TmsSync;
}

const registry = new WeakMap<AppContext, TmsIdentity>();

/** The TMS pieces of an app in TMS mode (e.g. `directory.ensureLocalUsers` for member lists); undefined otherwise. */
export function tmsIdentityOf(ctx: AppContext): TmsIdentity | undefined {
  return registry.get(ctx);
}

export async function registerTmsIdentity(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const config = ctx.config.tms;
  if (!config) throw new Error('AUTH_MODE=tms needs the TMS configuration');
  const client = new TmsClient(config, ctx.logger);
  // Reads on the request path survive a cache outage (known users are then read from the database).
  const tolerant = new TolerantCache(ctx.cache, ctx.logger);
  const directory = new TmsDirectory(ctx, client, tolerant);
  const authenticator = new TmsAuthenticator(config, ctx.config.jwtSecret, tolerant, directory);
  ctx.authenticator = authenticator;

  const sync = new TmsSync(ctx, client, directory);
  registry.set(ctx, { client, directory, authenticator, sync });
  ctx.health.register('tms', 'degraded', () => client.health());

  const service = new TmsAuthService(ctx, client, authenticator);
  const webhooks = new TmsWebhooks(ctx, client, directory);
  await app.register(authRoutes, { prefix: '/api/v1', service });
  await app.register(tmsWebhookRoutes, { prefix: '/api/v1', webhooks });

  sync.start();
  ctx.onClose(() => sync.stop());
}
