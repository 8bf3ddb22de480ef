// Push delivery: per (user, conversation) windows coalesce bursts (one push per PUSH_COALESCE_MS carrying the count)
// and hold pushes through quiet hours; each (notification, device) is one delivery row claimed before sending, so a
// push goes out at most once across retries and instances. The pushes of one transaction share one job. 404/410 delete the device; 429/5xx retry (Retry-After);
// at most 3 tries.
import { type Kysely, sql, type Transaction } from 'kysely';
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

/** One push: a notification to one device. */
export interface Delivery {
  notification_id: string;
  device_id: string;
}
/** A PUSH_QUEUE job: the pushes of one transaction (a job queued by an earlier version names one). */
export type PushJob = { deliveries: Delivery[] } | Delivery;
/** Pushes in flight at once from one job. */
const SEND_CONCURRENCY = 16;
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
   * Notifications of one message (one per user with devices), in a fixed number of statements: each pushed now,
   * or counted into the open window of its conversation (sent when the window closes), or held until `holdUntil`
   * (quiet hours). Returns the pushes to make now: the caller queues them with queue() in the same transaction
   * and kicks PUSH_QUEUE after the commit.
   */
  async scheduleMany(
    trx: Transaction<DB>,
    conversationId: string,
    items: ReadonlyArray<{ userId: string; notificationId: string; holdUntil: Date | null }>,
  ): Promise<Delivery[]> {
    if (items.length === 0) return [];
    const now = Date.now();
    const userIds = items.map((i) => i.userId);
    await trx
      .insertInto('push_windows')
      .values(
        userIds.map((id) => ({ user_id: id, conversation_id: conversationId, window_until: new Date(0) })),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
    const windows = await trx
      .selectFrom('push_windows')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .where('user_id', 'in', userIds)
      .orderBy('user_id')
      .forUpdate()
      .execute();
    const windowOf = new Map(windows.map((w) => [w.user_id, w]));
    const pushNow: Array<{ userId: string; notificationId: string }> = [];
    const counted: Array<{ userId: string; notificationId: string; until: Date; opens: boolean }> = [];
    for (const item of items) {
      const window = windowOf.get(item.userId);
      if (!window) continue;
      const open = window.window_until.getTime() > now || window.pending_count > 0;
      if (!open && !item.holdUntil) {
        pushNow.push(item);
        continue;
      }
      const until = new Date(Math.max(window.window_until.getTime(), item.holdUntil?.getTime() ?? 0, now));
      counted.push({ ...item, until, opens: window.pending_count === 0 });
    }
    if (pushNow.length > 0) {
      await trx
        .updateTable('push_windows')
        .set({ window_until: new Date(now + this.deps.coalesceMs) })
        .where('conversation_id', '=', conversationId)
        .where(
          'user_id',
          'in',
          pushNow.map((p) => p.userId),
        )
        .execute();
    }
    if (counted.length > 0) {
      const values = sql.join(
        counted.map(
          (c) => sql`(${c.userId}::uuid, ${c.notificationId}::uuid, ${c.until.toISOString()}::timestamptz)`,
        ),
      );
      await sql`
        UPDATE push_windows AS pw
           SET pending_count = pw.pending_count + 1, pending_notification_id = v.nid, window_until = v.until
          FROM (VALUES ${values}) AS v(uid, nid, until)
         WHERE pw.conversation_id = ${conversationId}::uuid AND pw.user_id = v.uid`.execute(trx);
      for (const c of counted.filter((c) => c.opens)) {
        await this.deps.jobs.enqueue<FlushJob>(
          trx,
          FLUSH_QUEUE,
          { user_id: c.userId, conversation_id: conversationId },
          { startAfterSeconds: Math.max(0, Math.ceil((c.until.getTime() - now) / 1000)) },
        );
      }
    }
    return this.deliverMany(trx, pushNow, 1);
  }

  /** One job for the pushes of a transaction. */
  async queue(trx: Transaction<DB>, deliveries: Delivery[]): Promise<void> {
    if (deliveries.length > 0) await this.deps.jobs.enqueue<PushJob>(trx, PUSH_QUEUE, { deliveries });
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
      await this.queue(
        trx,
        await this.deliver(trx, job.user_id, window.pending_notification_id, window.pending_count),
      );
      return true;
    });
    if (again) this.deps.jobs.kick(PUSH_QUEUE);
  }

  /** One delivery row per device of the user (ON CONFLICT: never twice for a pair); the pushes to make. */
  private deliver(trx: Transaction<DB>, userId: string, notificationId: string, count: number) {
    return this.deliverMany(trx, [{ userId, notificationId }], count);
  }

  /** deliver() for several (user, notification) pairs in one statement. */
  private async deliverMany(
    trx: Transaction<DB>,
    items: ReadonlyArray<{ userId: string; notificationId: string }>,
    count: number,
  ): Promise<Delivery[]> {
    if (items.length === 0) return [];
    const values = sql.join(items.map((i) => sql`(${i.userId}::uuid, ${i.notificationId}::uuid)`));
    const { rows } = await sql<Delivery>`
      INSERT INTO notification_deliveries (notification_id, device_id, coalesced)
      SELECT v.nid, d.id, ${count}::int FROM (VALUES ${values}) AS v(uid, nid) JOIN devices d ON d.user_id = v.uid
      ON CONFLICT DO NOTHING
      RETURNING notification_id::text, device_id::text`.execute(trx);
    return rows.map((r) => ({ notification_id: r.notification_id, device_id: r.device_id }));
  }

  /**
   * Sends the job's pushes, each once: the rows are claimed first (one statement), so a crash after the claim
   * never resends; at most SEND_CONCURRENCY requests are in flight; outcomes are recorded per kind.
   */
  async send(job: PushJob): Promise<void> {
    const wanted = 'deliveries' in job ? job.deliveries : [job];
    if (wanted.length === 0) return;
    const { db } = this.deps;
    const claimed = await db
      .updateTable('notification_deliveries')
      .set((eb) => ({ status: 'sending', attempts: eb('attempts', '+', 1), updated_at: new Date() }))
      .where((eb) =>
        eb(
          eb.refTuple('notification_id', 'device_id'),
          'in',
          wanted.map((d) => eb.tuple(d.notification_id, d.device_id)),
        ),
      )
      .where('status', 'in', ['pending', 'retry'])
      .returning(['notification_id', 'device_id', 'attempts', 'coalesced'])
      .execute();
    if (claimed.length === 0) return;
    const [devices, notifications] = await Promise.all([
      db
        .selectFrom('devices')
        .selectAll()
        .where('id', 'in', [...new Set(claimed.map((c) => c.device_id))])
        .execute(),
      db
        .selectFrom('notifications')
        .selectAll()
        .where('id', 'in', [...new Set(claimed.map((c) => c.notification_id))])
        .execute(),
    ]);
    const deviceById = new Map(devices.map((d) => [d.id, d]));
    const notificationById = new Map(notifications.map((n) => [n.id, n]));
    const results: Array<{ delivery: Delivery; channel: Channel; attempts: number; outcome: PushOutcome }> =
      [];
    let next = 0;
    const lane = async () => {
      while (next < claimed.length) {
        const row = claimed[next++] as (typeof claimed)[number];
        const device = deviceById.get(row.device_id);
        const notification = notificationById.get(row.notification_id);
        if (!device || !notification) continue;
        const message = pushMessage(notification, row.coalesced);
        let outcome: PushOutcome;
        if (device.push_keys) {
          const keys = device.push_keys as { p256dh: string; auth: string };
          outcome = await this.deps.webPush.send({ endpoint: device.push_token, keys }, message);
        } else if (this.deps.fcm) {
          outcome = await this.deps.fcm.send(device.push_token, message);
        } else {
          outcome = { kind: 'permanent', status: null, error: 'FCM is not configured' };
        }
        results.push({
          delivery: { notification_id: row.notification_id, device_id: row.device_id },
          channel: device.push_keys ? 'web_push' : 'fcm',
          attempts: row.attempts,
          outcome,
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(SEND_CONCURRENCY, claimed.length) }, lane));
    await this.record(results);
  }

  private async record(
    results: Array<{ delivery: Delivery; channel: Channel; attempts: number; outcome: PushOutcome }>,
  ): Promise<void> {
    const { db, metrics, logger } = this.deps;
    const setStatus = async (
      deliveries: Delivery[],
      status: 'sent' | 'retry' | 'failed',
      error: string | null,
    ) => {
      if (deliveries.length === 0) return;
      await db
        .updateTable('notification_deliveries')
        .set({ status, last_error: error, updated_at: new Date() })
        .where((eb) =>
          eb(
            eb.refTuple('notification_id', 'device_id'),
            'in',
            deliveries.map((d) => eb.tuple(d.notification_id, d.device_id)),
          ),
        )
        .execute();
    };
    const sent: Delivery[] = [];
    const retries: Delivery[] = [];
    let retryAfter = 0;
    for (const { delivery, channel, attempts, outcome } of results) {
      switch (outcome.kind) {
        case 'sent':
          sent.push(delivery);
          metrics.count(channel, 'sent');
          break;
        case 'gone':
          await db.deleteFrom('devices').where('id', '=', delivery.device_id).execute();
          metrics.count(channel, 'gone');
          logger.info(
            { device: delivery.device_id, status: outcome.status },
            'push: device unregistered by its service',
          );
          break;
        case 'permanent':
          await setStatus([delivery], 'failed', outcome.error);
          metrics.count(channel, 'failed');
          logger.warn({ device: delivery.device_id, error: outcome.error }, 'push refused');
          break;
        case 'retry':
          logger.info({ device: delivery.device_id, attempts, error: outcome.error }, 'push: will retry');
          if (attempts >= MAX_TRIES) {
            await setStatus([delivery], 'failed', outcome.error);
            metrics.count(channel, 'failed');
            break;
          }
          await setStatus([delivery], 'retry', outcome.error);
          metrics.count(channel, 'retry');
          retries.push(delivery);
          retryAfter = Math.max(retryAfter, outcome.retryAfterSeconds ?? 2 ** attempts);
          break;
      }
    }
    await setStatus(sent, 'sent', null);
    if (retries.length > 0)
      await this.deps.jobs.send<PushJob>(
        PUSH_QUEUE,
        { deliveries: retries },
        { startAfterSeconds: retryAfter },
      );
  }
}

type Channel = 'web_push' | 'fcm';

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
