// SQL of notifications: devices, in-app rows, recipients of a message, push windows and deliveries.
import { type Insertable, type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { DB, DevicesTable, NotificationsTable } from '../../db/schema.js';
import { currentMember } from '../access/current-member.js';

export type DeviceRow = Selectable<DevicesTable>;
export type NotificationRow = Selectable<NotificationsTable>;
type Db = Kysely<DB> | Transaction<DB>;

export interface RecipientRow {
  user_id: string;
  settings: Record<string, unknown>;
  muted: boolean;
  has_devices: boolean;
}

export interface MessageContext {
  id: string;
  conversation_id: string;
  sender_id: string | null;
  type: string;
  content: string | null;
  metadata: Record<string, unknown>;
  reply_author_id: string | null;
  conversation_type: 'dm' | 'group';
  conversation_name: string | null;
  sender_name: string | null;
}

export class NotificationsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  // Devices

  upsertDevice(values: Insertable<DevicesTable>): Promise<DeviceRow> {
    return this.db
      .insertInto('devices')
      .values(values)
      .onConflict((oc) =>
        oc.columns(['user_id', 'push_token']).doUpdateSet({
          platform: values.platform,
          push_keys: values.push_keys ?? null,
          name: values.name ?? null,
          last_seen_at: new Date(),
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  listDevices(userId: string, db: Db = this.db): Promise<DeviceRow[]> {
    return db.selectFrom('devices').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
  }

  findDevice(id: string): Promise<DeviceRow | undefined> {
    return this.db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async deleteDevice(id: string, userId?: string): Promise<boolean> {
    let query = this.db.deleteFrom('devices').where('id', '=', id);
    if (userId) query = query.where('user_id', '=', userId);
    const result = await query.executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  // Recipients

  async messageContext(messageId: string): Promise<MessageContext | undefined> {
    return (await this.messageContexts([messageId]))[0];
  }

  /** The stored (not deleted) messages among `messageIds`, with what their notifications say. */
  messageContexts(messageIds: readonly string[]): Promise<MessageContext[]> {
    if (messageIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('messages as m')
      .innerJoin('conversations as c', 'c.id', 'm.conversation_id')
      .leftJoin('users as s', 's.id', 'm.sender_id')
      .leftJoin('messages as r', 'r.id', 'm.reply_to_id')
      .select([
        'm.id',
        'm.conversation_id',
        'm.sender_id',
        'm.type',
        'm.content',
        'm.metadata',
        'r.sender_id as reply_author_id',
        'c.type as conversation_type',
        'c.name as conversation_name',
        sql<string | null>`coalesce(s.display_name, s.username)`.as('sender_name'),
      ])
      .where('m.id', 'in', [...messageIds])
      .where('m.deleted_at', 'is', null)
      .orderBy('m.id')
      .execute() as Promise<MessageContext[]>;
  }

  async conversationTitle(conversationId: string, actorId: string | null) {
    return this.db
      .selectFrom('conversations as c')
      .leftJoin('users as a', (join) => join.on('a.id', '=', actorId))
      .select(['c.type', 'c.name', sql<string | null>`coalesce(a.display_name, a.username)`.as('actor_name')])
      .where('c.id', '=', conversationId)
      .executeTakeFirst();
  }

  /** Current members of the conversation among `userIds` (all when undefined), but `senderId`, active, not blocking the sender. */
  recipients(
    conversationId: string,
    senderId: string | null,
    userIds?: readonly string[],
  ): Promise<RecipientRow[]> {
    let query = this.db
      .selectFrom('conversation_members as cm')
      .innerJoin('users as u', 'u.id', 'cm.user_id')
      .select([
        'cm.user_id',
        'u.settings',
        sql<boolean>`coalesce(cm.muted_until > now(), false)`.as('muted'),
        sql<boolean>`EXISTS (SELECT 1 FROM devices d WHERE d.user_id = cm.user_id)`.as('has_devices'),
      ])
      .where('cm.conversation_id', '=', conversationId)
      .where(currentMember('cm'))
      .where('u.deactivated_at', 'is', null);
    if (senderId) {
      query = query
        .where('cm.user_id', '<>', senderId)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('user_blocks as b')
                .select(sql`1`.as('one'))
                .whereRef('b.blocker_id', '=', 'cm.user_id')
                .where('b.blocked_id', '=', senderId),
            ),
          ),
        );
    }
    if (userIds) {
      if (userIds.length === 0) return Promise.resolve([]);
      query = query.where('cm.user_id', 'in', [...userIds]);
    }
    return query.execute() as Promise<RecipientRow[]>;
  }

  /**
   * Every current, active member of the conversations, with the senders (among `senderIds`) each one blocks:
   * `recipients` for many messages at once (the caller drops the sender and whoever blocks them).
   */
  async membersOf(
    conversationIds: readonly string[],
    senderIds: readonly string[],
  ): Promise<Array<RecipientRow & { conversation_id: string; blocks: string[] }>> {
    if (conversationIds.length === 0) return [];
    const members = await this.db
      .selectFrom('conversation_members as cm')
      .innerJoin('users as u', 'u.id', 'cm.user_id')
      .select([
        'cm.conversation_id',
        'cm.user_id',
        'u.settings',
        sql<boolean>`coalesce(cm.muted_until > now(), false)`.as('muted'),
        sql<boolean>`EXISTS (SELECT 1 FROM devices d WHERE d.user_id = cm.user_id)`.as('has_devices'),
      ])
      .where('cm.conversation_id', 'in', [...conversationIds])
      .where(currentMember('cm'))
      .where('u.deactivated_at', 'is', null)
      .execute();
    const blocks =
      senderIds.length === 0
        ? []
        : await this.db
            .selectFrom('user_blocks')
            .select(['blocker_id', 'blocked_id'])
            .where('blocked_id', 'in', [...senderIds])
            .execute();
    const blocking = new Map<string, string[]>();
    for (const b of blocks) blocking.set(b.blocker_id, [...(blocking.get(b.blocker_id) ?? []), b.blocked_id]);
    return members.map((m) => ({
      ...(m as RecipientRow & { conversation_id: string }),
      blocks: blocking.get(m.user_id) ?? [],
    }));
  }

  /** Marks messages whose notifications were worked out and came to nothing (one statement). */
  async markNotifiedMany(messageIds: readonly string[]): Promise<void> {
    if (messageIds.length === 0) return;
    await this.db
      .insertInto('notified_messages')
      .values(messageIds.map((id) => ({ message_id: id })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /** Claims the message: false when its notifications were already worked out. */
  async markNotified(messageId: string, trx: Transaction<DB>): Promise<boolean> {
    const row = await trx
      .insertInto('notified_messages')
      .values({ message_id: messageId })
      .onConflict((oc) => oc.doNothing())
      .returning('message_id')
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Messages of the last 15 minutes (but the last 30 s, still in flight) that no notification job claimed. */
  async unnotifiedMessages(now: Date, limit = 1000): Promise<string[]> {
    const rows = await this.db
      .selectFrom('messages as m')
      .leftJoin('notified_messages as n', 'n.message_id', 'm.id')
      .select('m.id')
      .where('m.id', '>', uuidAt(now.getTime() - 15 * 60_000))
      .where('m.created_at', '<', new Date(now.getTime() - 30_000))
      .where('n.message_id', 'is', null)
      .where('m.type', 'not in', ['system', 'call'])
      .where('m.deleted_at', 'is', null)
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  async pruneNotified(before: Date): Promise<void> {
    await this.db.deleteFrom('notified_messages').where('processed_at', '<', before).execute();
  }

  // In-app

  insertNotifications(
    rows: Insertable<NotificationsTable>[],
    trx: Transaction<DB>,
  ): Promise<NotificationRow[]> {
    if (rows.length === 0) return Promise.resolve([]);
    return trx.insertInto('notifications').values(rows).returningAll().execute();
  }

  list(userId: string, limit: number, beforeId?: string): Promise<NotificationRow[]> {
    let query = this.db
      .selectFrom('notifications')
      .selectAll()
      .where('user_id', '=', userId)
      .where('in_app', '=', true)
      .orderBy('id', 'desc')
      .limit(limit);
    if (beforeId) query = query.where('id', '<', beforeId);
    return query.execute();
  }

  async markRead(userId: string, upToId: string): Promise<number> {
    const result = await this.db
      .updateTable('notifications')
      .set({ read_at: new Date() })
      .where('user_id', '=', userId)
      .where('in_app', '=', true)
      .where('id', '<=', upToId)
      .where('read_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async unreadCount(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('notifications')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('in_app', '=', true)
      .where('read_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  findNotification(id: string): Promise<NotificationRow | undefined> {
    return this.db.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirst();
  }
}

/** The smallest UUID v7 of a millisecond: ids are time-ordered, so an id range is a time range on the primary key. */
function uuidAt(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
}
