// Wires notifications: providers (Web Push, FCM, SMTP), the viewing store, the push and digest job queues and their
// schedule, and the domain events that trigger notifications.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.js';
import { resolveJwtSecret } from '../../identity/jwt-secret.js';
import { DIGEST_QUEUE, DIGEST_SWEEP_QUEUE, DigestService } from './digest.js';
import { DigestRepository } from './digest.repository.js';
import { PushAgents } from './endpoint-policy.js';
import { MessageBatcher } from './message-batcher.js';
import { NotificationMetrics } from './notifications.metrics.js';
import { NotificationsRepository } from './notifications.repository.js';
import {
  MESSAGE_BATCH,
  MESSAGE_BATCH_MS,
  MESSAGE_QUEUE,
  MESSAGE_SWEEP_QUEUE,
  type MessageJob,
  NotificationsService,
} from './notifications.service.js';
import { FcmProvider, parseServiceAccount } from './providers/fcm.js';
import { SmtpMailer } from './providers/smtp.js';
import { resolveVapidKeys, WebPushProvider } from './providers/web-push.js';
import { FLUSH_QUEUE, type FlushJob, PUSH_QUEUE, PushDispatcher, type PushJob } from './push.jobs.js';
import { MemoryViewing, RedisViewing } from './viewing.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** E-mail digests: sweep, deliver, unsubscribe (tests and the unsubscribe route). */
    digests: DigestService;
  }
}

export function createNotificationsService(ctx: Omit<AppContext, 'services'>): NotificationsService {
  const settings = ctx.config.notifications;
  const metrics = new NotificationMetrics();
  ctx.metrics.include(() => metrics.registry);
  const agents = new PushAgents(settings.endpointAllowlist);
  ctx.onClose(() => agents.close());
  const keys = resolveVapidKeys(ctx.config);
  const fcmAccount = settings.fcmServiceAccount ? parseServiceAccount(settings.fcmServiceAccount) : undefined;
  const fcm = fcmAccount
    ? new FcmProvider(
        fcmAccount,
        settings.fcmBaseUrl,
        settings.fcmTokenUrl ?? fcmAccount.token_uri ?? 'https://oauth2.googleapis.com/token',
      )
    : undefined;
  const push = new PushDispatcher({
    db: ctx.db,
    jobs: ctx.jobs,
    logger: ctx.logger,
    metrics,
    webPush: new WebPushProvider(keys, agents),
    fcm,
    coalesceMs: settings.coalesceMs,
  });
  return new NotificationsService({
    db: ctx.db,
    bus: ctx.bus,
    jobs: ctx.jobs,
    logger: ctx.logger,
    repo: new NotificationsRepository(ctx.db),
    push,
    viewing: ctx.redis ? new RedisViewing(ctx.redis, ctx.config.redisKeyPrefix) : new MemoryViewing(),
    metrics,
    endpointAllowlist: settings.endpointAllowlist,
    vapidPublicKey: keys.publicKey,
  });
}

/** Queues, schedule and event subscriptions; answers the digest service (its unsubscribe route needs it). */
export async function registerNotifications(app: FastifyInstance, ctx: AppContext): Promise<DigestService> {
  const service = ctx.services.notifications;
  const { push, metrics } = service.deps;
  const settings = ctx.config.notifications;
  const mailer = settings.smtpUrl ? new SmtpMailer(settings.smtpUrl, settings.smtpFrom) : undefined;
  if (mailer) ctx.onClose(() => mailer.close());
  const digest = new DigestService({
    db: ctx.db,
    jobs: ctx.jobs,
    logger: ctx.logger,
    repo: new DigestRepository(ctx.db),
    users: ctx.services.usersRepository,
    metrics,
    mailer,
    secret: resolveJwtSecret(ctx.config),
    afterSeconds: settings.digestAfterSeconds,
    intervalSeconds: settings.digestIntervalSeconds,
    baseUrl:
      settings.publicUrl ??
      `http://${ctx.config.host === '0.0.0.0' ? 'localhost' : ctx.config.host}:${ctx.config.port}`,
    online: (ids) => app.realtime.presence.online(ids),
  });

  app.decorate('digests', digest);

  // Pushes retry themselves (at most 3 tries, Retry-After): pg-boss only re-runs a job that crashed mid-way.
  await ctx.jobs.define<PushJob>(PUSH_QUEUE, (job) => push.send(job), {
    retryLimit: 0,
    expireInSeconds: 60,
    concurrency: 4,
  });
  await ctx.jobs.define<FlushJob>(FLUSH_QUEUE, (job) => push.flush(job), {
    retryLimit: 3,
    retryDelaySeconds: 2,
  });
  await ctx.jobs.define<MessageJob>(
    MESSAGE_QUEUE,
    (job) => service.onMessages(job.message_ids ?? (job.message_id ? [job.message_id] : [])),
    { retryLimit: 3, retryDelaySeconds: 2 },
  );
  await ctx.jobs.define<{ user_id: string }>(
    DIGEST_QUEUE,
    async (job) => void (await digest.deliver(job.user_id)),
    {
      retryLimit: 0,
      expireInSeconds: 120,
    },
  );
  await ctx.jobs.define(DIGEST_SWEEP_QUEUE, async () => void (await digest.sweep()), {
    retryLimit: 0,
    expireInSeconds: 300,
  });
  if (mailer) await ctx.jobs.schedule(DIGEST_SWEEP_QUEUE, '* * * * *');
  await ctx.jobs.define(MESSAGE_SWEEP_QUEUE, async () => void (await service.sweepMissed()), {
    retryLimit: 0,
    expireInSeconds: 300,
  });
  await ctx.jobs.schedule(MESSAGE_SWEEP_QUEUE, '* * * * *');

  const warn = (what: string) => (err: unknown) =>
    ctx.logger.warn({ err }, `notifications: could not ${what}`);
  // Off the send path: the messages of a quarter second go into one durable job, whose handler works out
  // the recipients; a message whose job was lost (a crash before it was queued) is found by the sweep.
  const batcher = new MessageBatcher(MESSAGE_BATCH, MESSAGE_BATCH_MS, (ids) =>
    ctx.jobs
      .send(MESSAGE_QUEUE, { message_ids: ids })
      .then(() => undefined, warn('queue message notifications')),
  );
  ctx.onClose(() => batcher.flush());
  ctx.bus.subscribe('message.created', ({ message }) => {
    if (message.type === 'system' || message.type === 'call') return;
    batcher.add(message.id);
  });
  ctx.bus.subscribe('member.added', ({ conversation_id, user_ids, actor_id }) =>
    service.onMembersAdded(conversation_id, user_ids, actor_id).catch(warn('notify added members')),
  );
  ctx.bus.subscribe('call.missed', (call) =>
    service
      .onMissedCall({
        conversationId: call.conversation_id,
        callerId: call.caller_id,
        media: call.media,
        userIds: call.user_ids,
        messageId: call.message_id,
      })
      .catch(warn('notify a missed call')),
  );
  return digest;
}
