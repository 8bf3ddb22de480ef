// Notification rules (DESIGN.md section 16): who is told about a message, a mention, being added or a missed call;
// in-app rows and the `notification` event; pushes through PushDispatcher; devices and the in-app list.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { newId } from '../../db/ids.js';
import type { DB, NotificationKind } from '../../db/schema.js';
import { NotFoundError } from '../../errors.js';
import type { EventBus } from '../../events/bus.js';
import type { Actor } from '../../identity/actor.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import { userSettings } from '../users/users.schemas.js';
import { checkPushEndpoint } from './endpoint-policy.js';
import type { NotificationMetrics } from './notifications.metrics.js';
import type {
  MessageContext,
  NotificationRow,
  NotificationsRepository,
  RecipientRow,
} from './notifications.repository.js';
import {
  type DeviceView,
  type NotificationView,
  type RegisterDeviceBody,
  toDeviceView,
  toNotificationView,
} from './notifications.schemas.js';
import { PUSH_QUEUE, type PushDispatcher } from './push.jobs.js';
import { quietUntil } from './quiet-hours.js';
import type { ViewingStore } from './viewing.js';

export const MESSAGE_QUEUE = 'notification-message';
/** Every minute: messages whose job was lost between the commit and the enqueue. */
export const MESSAGE_SWEEP_QUEUE = 'notification-message-sweep';
const PREVIEW_CHARS = 200;
/** Messages per notification job at most. */
export const MESSAGE_BATCH = 200;
/** How long a message waits for others to share its notification job (pushes are for people away: a quarter
 * second is not felt, and a busy conversation costs a few statements per batch, not per message). */
export const MESSAGE_BATCH_MS = 250;
/** Job data of MESSAGE_QUEUE (`message_id`: a job queued by an earlier version). */
export interface MessageJob {
  message_ids?: string[];
  message_id?: string;
}

export interface NotificationsDeps {
  db: Kysely<DB>;
  bus: EventBus;
  jobs: JobQueue;
  logger: Logger;
  repo: NotificationsRepository;
  push: PushDispatcher;
  viewing: ViewingStore;
  metrics: NotificationMetrics;
  endpointAllowlist: readonly string[];
  vapidPublicKey: string;
}

interface Draft {
  recipient: RecipientRow;
  kind: NotificationKind;
  title: string;
  body: string;
}

export class NotificationsService {
  constructor(readonly deps: NotificationsDeps) {}

  get viewing(): ViewingStore {
    return this.deps.viewing;
  }

  // Devices

  async registerDevice(actor: Actor, input: RegisterDeviceBody): Promise<DeviceView> {
    const web = 'endpoint' in input.push ? input.push : undefined;
    if (web) checkPushEndpoint(web.endpoint, this.deps.endpointAllowlist);
    const row = await this.deps.repo.upsertDevice({
      id: newId(),
      user_id: actor.userId,
      platform: input.platform,
      push_token: web ? web.endpoint : (input.push as { token: string }).token,
      push_keys: web ? JSON.stringify(web.keys) : null,
      name: input.name ?? null,
      last_seen_at: new Date(),
    });
    return toDeviceView(row);
  }

  async listDevices(actor: Actor): Promise<DeviceView[]> {
    return (await this.deps.repo.listDevices(actor.userId)).map(toDeviceView);
  }

  async deleteDevice(actor: Actor, id: string): Promise<void> {
    if (!(await this.deps.repo.deleteDevice(id, actor.userId))) throw new NotFoundError('Device');
  }

  vapidPublicKey(): { public_key: string } {
    return { public_key: this.deps.vapidPublicKey };
  }

  // In-app

  async list(
    actor: Actor,
    limit: number,
    cursor?: string,
  ): Promise<{ items: NotificationView[]; nextCursor: string | null }> {
    const rows = await this.deps.repo.list(actor.userId, limit + 1, cursor);
    const items = rows.slice(0, limit).map(toNotificationView);
    return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
  }

  async markRead(actor: Actor, upToId: string): Promise<{ marked: number; unread: number }> {
    const marked = await this.deps.repo.markRead(actor.userId, upToId);
    return { marked, unread: await this.deps.repo.unreadCount(actor.userId) };
  }

  // Rules

  /** A stored message: mentions, replies and plain messages to everyone who should hear of it. */
  onMessage(messageId: string, now = new Date()): Promise<void> {
    return this.onMessages([messageId], now);
  }

  /**
   * Stored messages (one job per batch): each to everyone who should hear of it. The batch shares its reads;
   * the messages that notify nobody (the common case: no devices, no mention) are marked done in one statement.
   */
  async onMessages(messageIds: readonly string[], now = new Date()): Promise<void> {
    const messages = (await this.deps.repo.messageContexts(messageIds)).filter(
      (m) => m.type !== 'system' && m.type !== 'call',
    );
    if (messages.length === 0) return;
    const members = await this.deps.repo.membersOf(
      [...new Set(messages.map((m) => m.conversation_id))],
      [...new Set(messages.flatMap((m) => (m.sender_id ? [m.sender_id] : [])))],
    );
    const byConversation = new Map<string, typeof members>();
    for (const member of members) {
      const list = byConversation.get(member.conversation_id);
      if (list) list.push(member);
      else byConversation.set(member.conversation_id, [member]);
    }
    const quiet: string[] = [];
    for (const message of messages) {
      const recipients = (byConversation.get(message.conversation_id) ?? []).filter(
        (m) =>
          !message.sender_id || (m.user_id !== message.sender_id && !m.blocks.includes(message.sender_id)),
      );
      const drafts = this.draftsFor(message, recipients);
      if (drafts.length === 0) {
        quiet.push(message.id);
        continue;
      }
      await this.notify(
        drafts,
        { conversationId: message.conversation_id, messageId: message.id, actorId: message.sender_id, now },
        { skipViewers: true, once: message.id },
      );
    }
    await this.deps.repo.markNotifiedMany(quiet);
  }

  private draftsFor(message: MessageContext, recipients: readonly RecipientRow[]): Draft[] {
    const mentions = new Set(
      Array.isArray(message.metadata.mentions) ? (message.metadata.mentions as string[]) : [],
    );
    const mentionAll = message.metadata.mention_all === true;
    const sender = message.sender_name ?? 'Someone';
    const title =
      message.conversation_type === 'group'
        ? `${sender} in ${message.conversation_name ?? 'a group'}`
        : sender;
    const drafts: Draft[] = [];
    for (const recipient of recipients) {
      const settings = userSettings(recipient).notifications;
      if (!settings.enabled) continue;
      const kind: NotificationKind =
        mentions.has(recipient.user_id) || mentionAll
          ? 'mention'
          : message.reply_author_id === recipient.user_id
            ? 'reply'
            : 'message';
      const personal = kind !== 'message';
      if (recipient.muted && !(personal && settings.mentions_override_mute)) continue;
      if (settings.mentions_only && !personal && message.conversation_type === 'group') continue;
      // A plain message makes no in-app item: only a push, so only for people with devices.
      if (!personal && !recipient.has_devices) continue;
      const body = settings.preview ? previewOf(message.type, message.content) : '';
      drafts.push({ recipient, kind, title, body });
    }
    return drafts;
  }

  /** Messages whose notification job never ran (a crash between the commit and the enqueue): queue them again. */
  async sweepMissed(now = new Date()): Promise<number> {
    const ids = await this.deps.repo.unnotifiedMessages(now);
    for (let i = 0; i < ids.length; i += MESSAGE_BATCH)
      await this.deps.jobs.send(MESSAGE_QUEUE, { message_ids: ids.slice(i, i + MESSAGE_BATCH) });
    await this.deps.repo.pruneNotified(new Date(now.getTime() - 86_400_000));
    return ids.length;
  }

  /** Added to a group: an in-app item and a push for each added member but the one who added them. */
  async onMembersAdded(conversationId: string, userIds: readonly string[], actorId: string): Promise<void> {
    const targets = userIds.filter((id) => id !== actorId);
    const [recipients, conversation] = await Promise.all([
      this.deps.repo.recipients(conversationId, actorId, targets),
      this.deps.repo.conversationTitle(conversationId, actorId),
    ]);
    if (conversation?.type !== 'group') return;
    const drafts = recipients
      .filter((r) => userSettings(r).notifications.enabled)
      .map((recipient) => ({
        recipient,
        kind: 'added' as const,
        title: conversation.name ?? 'A group',
        body: `${conversation.actor_name ?? 'Someone'} added you`,
      }));
    await this.notify(
      drafts,
      { conversationId, messageId: null, actorId, now: new Date() },
      { skipViewers: true },
    );
  }

  /** Rung and never answered: in-app item and push (mute does not hide a missed call). */
  async onMissedCall(input: {
    conversationId: string;
    callerId: string | null;
    media: 'audio' | 'video';
    userIds: readonly string[];
    messageId: string | null;
  }): Promise<void> {
    const [recipients, conversation] = await Promise.all([
      this.deps.repo.recipients(input.conversationId, input.callerId, input.userIds),
      this.deps.repo.conversationTitle(input.conversationId, input.callerId),
    ]);
    if (!conversation) return;
    const caller = conversation.actor_name ?? 'Someone';
    const drafts = recipients
      .filter((r) => userSettings(r).notifications.enabled)
      .map((recipient) => ({
        recipient,
        kind: 'missed_call' as const,
        title: conversation.type === 'group' ? `${caller} in ${conversation.name ?? 'a group'}` : caller,
        body: `Missed ${input.media} call`,
      }));
    await this.notify(
      drafts,
      {
        conversationId: input.conversationId,
        messageId: input.messageId,
        actorId: input.callerId,
        now: new Date(),
      },
      { skipViewers: false },
    );
  }

  /**
   * Drops people viewing the conversation, stores the notifications and schedules their pushes in one transaction,
   * then emits `notification` for in-app items. `once`: the message this is about, done at most once.
   */
  private async notify(
    drafts: Draft[],
    target: { conversationId: string; messageId: string | null; actorId: string | null; now: Date },
    options: { skipViewers: boolean; once?: string },
  ): Promise<void> {
    if (drafts.length === 0 && !options.once) return;
    let viewers = new Set<string>();
    if (options.skipViewers && drafts.length > 0) {
      try {
        viewers = await this.deps.viewing.viewers(
          target.conversationId,
          drafts.map((d) => d.recipient.user_id),
        );
      } catch (err) {
        this.deps.logger.warn({ err }, 'notifications: viewing store unavailable; notifying everyone');
      }
    }
    const kept = drafts.filter((d) => !viewers.has(d.recipient.user_id));
    if (kept.length === 0 && !options.once) return;
    const rows = await this.deps.db.transaction().execute(async (trx) => {
      if (options.once && !(await this.deps.repo.markNotified(options.once, trx))) return [];
      const inserted = await this.deps.repo.insertNotifications(
        kept.map((d) => ({
          id: newId(),
          user_id: d.recipient.user_id,
          kind: d.kind,
          conversation_id: target.conversationId,
          message_id: target.messageId,
          actor_id: target.actorId,
          in_app: d.kind !== 'message',
          payload: JSON.stringify({
            title: d.title,
            body: d.body,
            sound: userSettings(d.recipient).notifications.sound,
          }),
        })),
        trx,
      );
      const byUser = new Map(kept.map((d) => [d.recipient.user_id, d.recipient]));
      const pushes = inserted.flatMap((row) => {
        const recipient = byUser.get(row.user_id);
        if (!recipient?.has_devices) return [];
        const holdUntil = quietUntil(userSettings(recipient).notifications.quiet_hours, target.now);
        return [{ userId: row.user_id, notificationId: row.id, holdUntil }];
      });
      const deliveries = await this.deps.push.scheduleMany(trx, target.conversationId, pushes);
      await this.deps.push.queue(trx, deliveries);
      return inserted;
    });
    this.deps.jobs.kick(PUSH_QUEUE);
    for (const row of rows) this.announce(row);
  }

  private announce(row: NotificationRow): void {
    if (!row.in_app) return;
    this.deps.metrics.count('in_app', 'sent');
    this.deps.bus.publish('notification.created', {
      user_id: row.user_id,
      notification: toNotificationView(row),
    });
  }
}

function previewOf(type: string, content: string | null): string {
  if (type === 'image') return 'Photo';
  if (type === 'voice') return 'Voice message';
  if (type === 'file') return 'File';
  if (type === 'poll') return `Poll: ${(content ?? '').slice(0, PREVIEW_CHARS)}`;
  const text = (content ?? '').replace(/\s+/g, ' ').trim();
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text;
}
