// Wires external channels: providers and their router, the status machine, the send and media jobs, the
// messages hook (members' replies go out), webhook-log retention, metrics, and the routes.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { AppContext } from '../../context.js';
import type { ChannelKind } from '../../db/schema.js';
import { createEventLimiter } from '../../platform/socket-rate-limits.js';
import { ChannelFilesRepository } from './channel-files.repository.js';
import { ChannelStatusMachine } from './channel-status.js';
import { ChannelSender, SEND_RETRY_LIMIT } from './channels.jobs.js';
import { ChannelsRepository } from './channels.repository.js';
import { channelsRoutes } from './channels.routes.js';
import { CHANNEL_SEND_QUEUE, type ChannelSendJob, ChannelsService } from './channels.service.js';
import { InboundMedia } from './inbound-media.js';
import { InboxMembersRepository } from './inbox-members.repository.js';
import { InboxMembersService } from './inbox-members.service.js';
import { ChannelMetrics, createProvider, ProviderRouter } from './providers/provider-router.js';
import { channelWebhookRoutes } from './webhooks.routes.js';
import { ChannelWebhooks, type InboundMediaJob, MEDIA_QUEUE } from './webhooks.service.js';

export const WEBHOOK_LOG_QUEUE = 'webhook-log-retention';

export interface ChannelsModule {
  service: ChannelsService;
  router: ProviderRouter;
  webhooks: ChannelWebhooks;
  routes(api: FastifyInstance): Promise<void>;
}

export async function registerChannels(ctx: AppContext): Promise<ChannelsModule> {
  const { config } = ctx;
  const metrics = new ChannelMetrics();
  ctx.metrics.include(() => metrics.registry);
  const router = new ProviderRouter(config.channels.providers.map(createProvider), metrics);
  ctx.onClose(() => router.close());
  const repo = new ChannelsRepository(ctx.db);
  const files = new ChannelFilesRepository(ctx.db);
  const status = new ChannelStatusMachine(repo, ctx.services.messages, ctx.bus, metrics);
  const service = new ChannelsService({
    db: ctx.db,
    files,
    emailAttachmentsMaxBytes: config.channels.emailAttachmentsMaxBytes,
    bus: ctx.bus,
    jobs: ctx.jobs,
    repo,
    access: ctx.services.access,
    messages: ctx.services.messages,
    status,
    channels: new Set<ChannelKind>(config.channels.providers.flatMap((p) => p.channels)),
    sendLimiter: createEventLimiter({
      name: 'channel-sends',
      points: config.channels.sendsPerMinute,
      durationSeconds: 60,
      redis: ctx.redis,
      keyPrefix: config.redisKeyPrefix,
    }),
  });
  const inboxMembers = new InboxMembersService({
    db: ctx.db,
    bus: ctx.bus,
    repo: new InboxMembersRepository(ctx.db),
    conversations: ctx.services.conversations,
  });
  const sender = new ChannelSender({
    db: ctx.db,
    repo,
    router,
    status,
    logger: ctx.logger,
    publicUrl: config.channels.publicUrl,
    files,
    storage: ctx.services.files.deps.storage,
  });
  const webhooks = new ChannelWebhooks({
    db: ctx.db,
    bus: ctx.bus,
    jobs: ctx.jobs,
    logger: ctx.logger,
    repo,
    messages: ctx.services.messages,
    status,
  });

  const CHANNEL_SEND_CONCURRENCY = 8;
  await ctx.jobs.define<ChannelSendJob>(
    CHANNEL_SEND_QUEUE,
    (data, job) => sender.process(data.channel_message_id, job),
    {
      retryLimit: SEND_RETRY_LIMIT,
      retryDelaySeconds: 5,
      expireInSeconds: 300,
      // A send mostly waits on the provider: several at once per instance (messages of one thread may then
      // reach the provider out of order, as carriers deliver them anyway).
      concurrency: CHANNEL_SEND_CONCURRENCY,
    },
  );
  const media = new InboundMedia({
    db: ctx.db,
    bus: ctx.bus,
    logger: ctx.logger,
    repo,
    messages: ctx.services.messages,
    storage: ctx.services.files.deps.storage,
    limits: config.storage,
    allowlist: config.linkPreviewAllowlist,
  });
  await ctx.jobs.define<InboundMediaJob>(
    MEDIA_QUEUE,
    (data) => media.fetchAndStore(data.channel_message_id, data.urls),
    { retryLimit: 3, retryDelaySeconds: 10, expireInSeconds: 120 },
  );
  await ctx.jobs.define<Record<string, never>>(WEBHOOK_LOG_QUEUE, async () => {
    await sql`DELETE FROM webhook_logs WHERE received_at < now() - make_interval(days => ${config.channels.webhookLogDays})`.execute(
      ctx.db,
    );
    await sql`DELETE FROM webhook_receipts WHERE source IN ('twilio', 'sendgrid') AND received_at < now() - make_interval(days => ${config.channels.webhookLogDays})`.execute(
      ctx.db,
    );
  });
  await ctx.jobs.schedule(WEBHOOK_LOG_QUEUE, '17 3 * * *');

  // A member's new message in an external conversation goes out; internal conversations are ruled out by cache.
  ctx.services.messages.onContentWritten(
    async (trx, written) => {
      if (written.kind === 'created')
        await service.onMemberMessage(trx, written.message_id, written.conversation_id);
    },
    (_content, conversationId) => service.mayBeExternal(conversationId),
  );

  return {
    service,
    router,
    webhooks,
    async routes(api) {
      await api.register(async (scope) => channelsRoutes(scope, service, inboxMembers));
      await api.register(async (scope) =>
        channelWebhookRoutes(scope, {
          db: ctx.db,
          webhooks,
          providers: config.channels.providers,
          publicUrl: config.channels.publicUrl,
          metrics,
          media,
        }),
      );
    },
  };
}
