// AUTH_MODE=tms: the webhook, the pass-through auth routes and the TMS health check over the context's TMS identity.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { authRoutes } from './auth.routes.js';
import type { TmsIdentity } from './identity.js';
import { TmsAuthService } from './tms-auth.service.js';
import { tmsWebhookRoutes } from './tms-webhook.routes.js';
import { TmsWebhooks } from './tms-webhooks.js';

export type { TmsIdentity };

/** The TMS pieces of an app in TMS mode (e.g. `directory.ensureLocalUsers` for member lists); undefined otherwise. */
export function tmsIdentityOf(ctx: AppContext): TmsIdentity | undefined {
  return ctx.identity.mode === 'tms' ? ctx.identity.tms : undefined;
}

export async function registerTmsIdentity(
  app: FastifyInstance,
  ctx: AppContext,
  tms: TmsIdentity,
): Promise<void> {
  const { client, directory, authenticator, sync } = tms;
  ctx.health.register('tms', 'degraded', () => client.health());

  const service = new TmsAuthService(ctx, client, authenticator);
  const webhooks = new TmsWebhooks(ctx, client, directory);
  await app.register(authRoutes, { prefix: '/api/v1', service });
  await app.register(tmsWebhookRoutes, { prefix: '/api/v1', webhooks });
  ctx.onClose(() => sync.stop());
}
