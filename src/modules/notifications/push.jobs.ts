// Push delivery: per (user, conversation) windows coalesce bursts (one push per PUSH_COALESCE_MS carrying the count)
// and hold pushes through quiet hours; each (notification, device) is one delivery row claimed before sending, so a
// push goes out at most once across retries and instances. 404/410 delete the device; 429/5xx retry (Retry-After);
// at most 3 tries.
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../../db/schema.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { NotificationMetrics } from './notifications.metrics.js';
import type { FcmProvider } from './providers/fcm.js';
import type { PushMessage, PushOutcome } from './providers/push-provider.js';
import type { WebPushProvider } from './providers/web-push.js';

export const PUSH_QUEUE = 'notification-push';
export const FLUSH_QUEUE = 'notification-push-flush';
export const MAX_TRIES = 3;

export interface PushJob {
  notification_id: string;
  device_id: string;
}
export interface FlushJob {
  user_id: string;
  conversation_id: string;
}

export interface PushDeps {
  db: Kysely<DB>;
  jobs: JobQueue;
  logger: Logger;
  metrics: NotificationMetrics;
  webPush: WebPushProvider;
  fcm: FcmProvider | undefined;
  coalesceMs: number;
}

export class PushDispatcher {
  constructor(private readonly deps: PushDeps) {}

  /**
   * A notification for a user with devices: pushed now, or counted into the open window of its conversation (sent
   * when the window closes), or held until `holdUntil` (quiet hours). Kick PUSH_QUEUE after the commit.
   */
  async schedule(
    trx: Transaction<DB>,
    userId: string,
    conversationId: string,
    notificationId: string,
    holdUntil: Date | null,
  ): Promise<void> {
    const now = Date.now();
    await trx
      .insertInto('push_windows')
      .values({ user_id: userId, conversation_id: conversationId, window_until: new Date(0) })
      .onConflict((oc) => oc.doNothing())
      .execute();
    const window = await trx
      .selectFrom('push_windows')
      .selectAll()
      .where('user_id', '=', userId)
      .where('conversation_id', '=', conversationId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const open = window.window_until.getTime() > now || window.pending_count > 0;
    if (!open && !holdUntil) {
      await trx
        .updateTable('push_windows')
        .set({ window_until: new Date(now + this.deps.coalesceMs) })
        .where('user_id', '=', userId)
        .where('conversation_id', '=', conversationId)
        .execute();
      await this.deliver(trx, userId, notificationId, 1);
      return;
    }
    const until = new Date(Math.max(window.window_until.getTime(), holdUntil?.getTime() ?? 0, now));
    await trx
      .updateTable('push_windows')
      .set({
        pending_count: window.pending_count + 1,
        pending_notification_id: notificationId,
        window_until: until,
      })
      .where('user_id', '=', userId)
      .where('conversation_id', '=', conversationId)
      .execute();
    if (window.pending_count === 0) {
      await this.deps.jobs.enqueue<FlushJob>(
        trx,
        FLUSH_QUEUE,
        { user_id: userId, conversation_id: conversationId },
        { startAfterSeconds: Math.max(0, Math.ceil((until.getTime() - now) / 1000)) },
      );
    }
  }

  /** The window closed: one push for everything it collected, carrying the count. */
  async flush(job: FlushJob): Promise<void> {
    const again = await this.deps.db.transaction().execute(async (trx) => {
      const window = await trx
        .selectFrom('push_windows')
        .selectAll()
        .where('user_id', '=', job.user_id)
        .where('conversation_id', '=', job.conversation_id)
        .forUpdate()
        .executeTakeFirst();
      if (!window || window.pending_count === 0 || !window.pending_notification_id) return false;
      const now = Date.now();
      // Quiet hours extended the window after this job was queued: come back then.
      if (window.window_until.getTime() > now + 1000) {
        await this.deps.jobs.enqueue<FlushJob>(trx, FLUSH_QUEUE, job, {
          startAfterSeconds: Math.ceil((window.window_until.getTime() - now) / 1000),
        });
        return false;
      }
      await trx
        .updateTable('push_windows')
        .set({
          pending_count: 0,
          pending_notification_id: null,
          window_until: new Date(now + this.deps.coalesceMs),
        })
        .where('user_id', '=', job.user_id)
        .where('conversation_id', '=', job.conversation_id)
        .execute();
      await this.deliver(trx, job.user_id, window.pending_notification_id, window.pending_count);
      return true;
    });
    if (again) this.deps.jobs.kick(PUSH_QUEUE);
  }

  /** One delivery row and one job per device of the user (ON CONFLICT: never twice for a pair). */
  private async deliver(
    trx: Transaction<DB>,
    userId: string,
    notificationId: string,
    count: number,
  ): Promise<void> {
    const devices = await trx.selectFrom('devices').select('id').where('user_id', '=', userId).execute();
    if (devices.length === 0) return;
    const inserted = await trx
      .insertInto('notification_deliveries')
      .values(devices.map((d) => ({ notification_id: notificationId, device_id: d.id, coalesced: count })))
      .onConflict((oc) => oc.doNothing())
      .returning('device_id')
      .execute();
    for (const row of inserted) {
      await this.deps.jobs.enqueue<PushJob>(trx, PUSH_QUEUE, {
        notification_id: notificationId,
        device_id: row.device_id,
      });
    }
  }

  /** Sends one (notification, device) push, once: the row is claimed first; a crash after the claim never resends. */
  async send(job: PushJob): Promise<void> {
    const { db } = this.deps;
    const claimed = await db
      .updateTable('notification_deliveries')
      .set((eb) => ({ status: 'sending', attempts: eb('attempts', '+', 1), updated_at: new Date() }))
      .where('notification_id', '=', job.notification_id)
      .where('device_id', '=', job.device_id)
      .where('status', 'in', ['pending', 'retry'])
      .returning(['attempts', 'coalesced'])
      .executeTakeFirst();
    if (!claimed) return;
    const [device, notification] = await Promise.all([
      db.selectFrom('devices').selectAll().where('id', '=', job.device_id).executeTakeFirst(),
      db.selectFrom('notifications').selectAll().where('id', '=', job.notification_id).executeTakeFirst(),
    ]);
    if (!device || !notification) return;
    const channel = device.push_keys ? 'web_push' : 'fcm';
    const message = pushMessage(notification, claimed.coalesced);
    let outcome: PushOutcome;
    if (device.push_keys) {
      const keys = device.push_keys as { p256dh: string; auth: string };
      outcome = await this.deps.webPush.send({ endpoint: device.push_token, keys }, message);
    } else if (this.deps.fcm) {
      outcome = await this.deps.fcm.send(device.push_token, message);
    } else {
      outcome = { kind: 'permanent', status: null, error: 'FCM is not configured' };
    }
    await this.record(job, channel, claimed.attempts, outcome);
  }

  private async record(job: PushJob, channel: 'web_push' | 'fcm', attempts: number, outcome: PushOutcome) {
    const { db, metrics, logger } = this.deps;
    const update = (status: 'sent' | 'retry' | 'failed', error: string | null) =>
      db
        .updateTable('notification_deliveries')
        .set({ status, last_error: error, updated_at: new Date() })
        .where('notification_id', '=', job.notification_id)
        .where('device_id', '=', job.device_id)
        .execute();
    switch (outcome.kind) {
      case 'sent':
        await update('sent', null);
        metrics.count(channel, 'sent');
        return;
      case 'gone':
        await db.deleteFrom('devices').where('id', '=', job.device_id).execute();
        metrics.count(channel, 'gone');
        logger.info(
          { device: job.device_id, status: outcome.status },
          'push: device unregistered by its service',
        );
        return;
      case 'permanent':
        await update('failed', outcome.error);
        metrics.count(channel, 'failed');
        logger.warn({ device: job.device_id, error: outcome.error }, 'push refused');
        return;
      case 'retry': {
        logger.info({ device: job.device_id, attempts, error: outcome.error }, 'push: will retry');
        if (attempts >= MAX_TRIES) {
          await update('failed', outcome.error);
          metrics.count(channel, 'failed');
          return;
        }
        await update('retry', outcome.error);
        metrics.count(channel, 'retry');
        await this.deps.jobs.send<PushJob>(PUSH_QUEUE, job, {
          startAfterSeconds: outcome.retryAfterSeconds ?? 2 ** attempts,
        });
      }
    }
  }
}

/** What a push says when the preview setting keeps the text out. */
const FALLBACK_BODY: Record<string, string> = {
  message: 'New message',
  mention: 'You were mentioned',
  reply: 'New reply',
};

/** The push as the recipient's settings made it (the body already obeys preview); a count replaces the body. */
export function pushMessage(
  notification: {
    id: string;
    kind: string;
    conversation_id: string | null;
    message_id: string | null;
    payload: unknown;
  },
  count: number,
): PushMessage {
  const payload = notification.payload as { title?: string; body?: string; sound?: boolean };
  return {
    title: payload.title ?? 'TMA',
    body:
      count > 1
        ? `${count} new messages`
        : payload.body || FALLBACK_BODY[notification.kind] || 'New notification',
    sound: payload.sound ?? true,
    data: {
      type: notification.kind,
      notification_id: notification.id,
      conversation_id: notification.conversation_id ?? '',
      message_id: notification.message_id ?? '',
      count: String(count),
    },
  };
}
