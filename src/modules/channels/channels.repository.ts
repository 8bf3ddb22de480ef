// SQL of external channels: inboxes and members, threads, channel messages and their events, opt-outs.
import { type Insertable, type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import { newId } from '../../db/ids.js';
import type { ChannelMessagesTable, ChannelStatus, DB, InboxChannel } from '../../db/schema.js';

type Executor = Kysely<DB> | Transaction<DB>;
export type ChannelMessageRow = Selectable<ChannelMessagesTable>;
export type InboxRow = Selectable<DB['channel_inboxes']>;
export type ThreadRow = Selectable<DB['external_conversations']>;

export interface ExternalConversationRow extends ThreadRow {
  inbox_address: string;
  last_seq: number;
  last_message_at: Date | null;
}

export class ChannelsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insertInbox(
    trx: Transaction<DB>,
    inbox: { id: string; channel: InboxChannel; address: string; name: string; created_by: string },
    memberIds: string[],
  ): Promise<InboxRow | undefined> {
    const row = await trx
      .insertInto('channel_inboxes')
      .values(inbox)
      .onConflict((oc) => oc.constraint('channel_inboxes_address_key').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (row && memberIds.length > 0) {
      await trx
        .insertInto('channel_inbox_members')
        .values(memberIds.map((user_id) => ({ inbox_id: row.id, user_id })))
        .execute();
    }
    return row;
  }

  /** Inboxes with their member ids; `userId` limits them to the inboxes the user handles. */
  async listInboxes(userId?: string): Promise<Array<InboxRow & { member_ids: string[] }>> {
    let query = this.db
      .selectFrom('channel_inboxes as i')
      .selectAll('i')
      .select(
        sql<
          string[]
        >`coalesce((SELECT array_agg(m.user_id::text ORDER BY m.added_at, m.user_id) FROM channel_inbox_members m WHERE m.inbox_id = i.id), '{}')`.as(
          'member_ids',
        ),
      )
      .orderBy('i.created_at')
      .orderBy('i.id');
    if (userId) {
      query = query.where((eb) =>
        eb.exists(
          eb
            .selectFrom('channel_inbox_members as m')
            .select('m.user_id')
            .whereRef('m.inbox_id', '=', 'i.id')
            .where('m.user_id', '=', userId),
        ),
      );
    }
    return query.execute();
  }

  inboxByAddress(
    channel: InboxChannel,
    address: string,
    trx: Executor = this.db,
  ): Promise<InboxRow | undefined> {
    return trx
      .selectFrom('channel_inboxes')
      .selectAll()
      .where('channel', '=', channel)
      .where('address', '=', address)
      .executeTakeFirst();
  }

  inboxById(id: string, trx: Executor = this.db): Promise<InboxRow | undefined> {
    return trx.selectFrom('channel_inboxes').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async isInboxMember(inboxId: string, userId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('channel_inbox_members')
      .select('user_id')
      .where('inbox_id', '=', inboxId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async inboxMemberIds(inboxId: string, trx: Executor = this.db): Promise<string[]> {
    const rows = await trx
      .selectFrom('channel_inbox_members as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select('m.user_id')
      .where('m.inbox_id', '=', inboxId)
      .where('u.deactivated_at', 'is', null)
      .execute();
    return rows.map((r) => r.user_id);
  }

  threadOf(conversationId: string, trx: Executor = this.db): Promise<ThreadRow | undefined> {
    return trx
      .selectFrom('external_conversations')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .executeTakeFirst();
  }

  /**
   * The conversation of (inbox, participant), created with the inbox's members when new. An advisory lock on the
   * thread key makes concurrent first messages share one conversation.
   */
  async getOrCreateThread(
    trx: Transaction<DB>,
    inbox: InboxRow,
    participant: string,
  ): Promise<{ thread: ThreadRow; created: boolean; memberIds: string[] }> {
    const key = `channel-thread:${inbox.id}:${participant}`;
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(trx);
    const existing = await trx
      .selectFrom('external_conversations')
      .selectAll()
      .where('inbox_id', '=', inbox.id)
      .where('channel', '=', inbox.channel)
      .where('participant_address', '=', participant)
      .executeTakeFirst();
    if (existing) return { thread: existing, created: false, memberIds: [] };
    // Waits for a membership change of the inbox (FOR UPDATE) to commit, so the new thread gets its result.
    await trx.selectFrom('channel_inboxes').select('id').where('id', '=', inbox.id).forShare().execute();
    const conversationId = newId();
    await trx
      .insertInto('conversations')
      .values({ id: conversationId, type: 'external', name: participant, created_by: null })
      .execute();
    const memberIds = await this.inboxMemberIds(inbox.id, trx);
    if (memberIds.length > 0) {
      await trx
        .insertInto('conversation_members')
        .values(
          memberIds.map((user_id) => ({ conversation_id: conversationId, user_id, role: 'member' as const })),
        )
        .execute();
    }
    const thread = await trx
      .insertInto('external_conversations')
      .values({
        conversation_id: conversationId,
        inbox_id: inbox.id,
        channel: inbox.channel,
        participant_address: participant,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { thread, created: true, memberIds };
  }

  /** Inserts unless (created_by, idempotency_key) exists; undefined then. */
  insertMessage(
    trx: Transaction<DB>,
    row: Insertable<ChannelMessagesTable>,
  ): Promise<ChannelMessageRow | undefined> {
    return trx
      .insertInto('channel_messages')
      .values(row)
      .onConflict((oc) => oc.constraint('channel_messages_idempotency_key').doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  async setChatMessage(trx: Transaction<DB>, id: string, messageId: string): Promise<void> {
    await trx.updateTable('channel_messages').set({ message_id: messageId }).where('id', '=', id).execute();
  }

  byKey(userId: string, key: string): Promise<ChannelMessageRow | undefined> {
    return this.db
      .selectFrom('channel_messages')
      .selectAll()
      .where('created_by', '=', userId)
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
  }

  byId(id: string, trx: Executor = this.db): Promise<ChannelMessageRow | undefined> {
    return trx.selectFrom('channel_messages').selectAll().where('id', '=', id).executeTakeFirst();
  }

  byProviderId(providerMessageId: string, trx: Executor = this.db): Promise<ChannelMessageRow | undefined> {
    return trx
      .selectFrom('channel_messages')
      .selectAll()
      .where('provider_message_id', '=', providerMessageId)
      .executeTakeFirst();
  }

  /** Moves the status when it is one of `from`; undefined when another writer got there first. */
  transition(
    trx: Transaction<DB>,
    id: string,
    from: readonly ChannelStatus[],
    patch: Partial<
      Pick<ChannelMessageRow, 'status' | 'provider' | 'provider_message_id' | 'error_code' | 'error_message'>
    > & {
      addAttempt?: boolean;
    },
  ): Promise<ChannelMessageRow | undefined> {
    const { addAttempt, ...fields } = patch;
    return trx
      .updateTable('channel_messages')
      .set((eb) => ({
        ...fields,
        updated_at: new Date(),
        ...(addAttempt ? { attempts: eb('attempts', '+', 1) } : {}),
      }))
      .where('id', '=', id)
      .where('status', 'in', [...from])
      .returningAll()
      .executeTakeFirst();
  }

  async addEvent(
    trx: Executor,
    id: string,
    status: string,
    provider: string | null,
    detail: Record<string, unknown> = {},
  ): Promise<void> {
    await trx
      .insertInto('channel_message_events')
      .values({ id: newId(), channel_message_id: id, status, provider, detail: JSON.stringify(detail) })
      .execute();
  }

  events(ids: string[]): Promise<Array<Selectable<DB['channel_message_events']>>> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('channel_message_events')
      .selectAll()
      .where('channel_message_id', 'in', ids)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  /** Newest first, keyset on (created_at, id). */
  listForConversation(
    conversationId: string,
    options: { status?: ChannelStatus; before?: { created_at: string; id: string }; limit: number },
  ): Promise<ChannelMessageRow[]> {
    let query = this.db
      .selectFrom('channel_messages')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(options.limit);
    if (options.status) query = query.where('status', '=', options.status);
    const before = options.before;
    if (before) {
      query = query.where((eb) =>
        eb.or([
          eb('created_at', '<', new Date(before.created_at)),
          eb.and([eb('created_at', '=', new Date(before.created_at)), eb('id', '<', before.id)]),
        ]),
      );
    }
    return query.execute();
  }

  /** External conversations the user is a current member of, newest activity first. */
  listConversations(
    userId: string,
    options: { participant?: string; afterId?: string; limit: number },
  ): Promise<ExternalConversationRow[]> {
    let query = this.db
      .selectFrom('external_conversations as x')
      .innerJoin('conversation_members as cm', (join) =>
        join
          .onRef('cm.conversation_id', '=', 'x.conversation_id')
          .on('cm.user_id', '=', userId)
          .on('cm.left_at', 'is', null),
      )
      .innerJoin('conversations as c', 'c.id', 'x.conversation_id')
      .innerJoin('channel_inboxes as i', 'i.id', 'x.inbox_id')
      .selectAll('x')
      .select(['i.address as inbox_address', 'c.last_seq', 'c.last_message_at'])
      .orderBy('x.conversation_id', 'desc')
      .limit(options.limit);
    if (options.participant) query = query.where('x.participant_address', '=', options.participant);
    if (options.afterId) query = query.where('x.conversation_id', '<', options.afterId);
    return query.execute();
  }

  async isOptedOut(inboxId: string, address: string, trx: Executor = this.db): Promise<boolean> {
    const row = await trx
      .selectFrom('channel_opt_outs')
      .select('address')
      .where('inbox_id', '=', inboxId)
      .where('address', '=', address)
      .executeTakeFirst();
    return row !== undefined;
  }

  async setOptOut(trx: Executor, inboxId: string, address: string, optedOut: boolean): Promise<void> {
    if (optedOut) {
      await trx
        .insertInto('channel_opt_outs')
        .values({ inbox_id: inboxId, address })
        .onConflict((oc) => oc.columns(['inbox_id', 'address']).doNothing())
        .execute();
    } else {
      await trx
        .deleteFrom('channel_opt_outs')
        .where('inbox_id', '=', inboxId)
        .where('address', '=', address)
        .execute();
    }
  }
}
