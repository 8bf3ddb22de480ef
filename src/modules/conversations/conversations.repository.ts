// SQL for conversations and memberships. Optional transaction on every call; never throws HTTP errors.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { ConversationRow, DB } from '../../db/schema.js';

type Executor = Kysely<DB> | Transaction<DB>;

/** One row of the caller's conversation list: conversation + the caller's membership + computed columns. */
export interface ConversationListRow extends ConversationRow {
  my_role: 'admin' | 'member';
  joined_seq: number;
  delivered_seq: number;
  read_seq: number;
  muted_until: Date | null;
  activity_us: number;
  unread_count: number;
  last_message_id: string | null;
}

export interface ListCursor {
  activity_us: number;
  id: string;
}

const ACTIVITY = sql<number>`(extract(epoch from coalesce(c.last_message_at, c.created_at)) * 1000000)::bigint`;

export class ConversationsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * The caller's current conversations by last activity (newest first), with unread count and last message id,
   * in one query whatever the page size.
   */
  async listForUser(
    userId: string,
    options: { limit: number; cursor?: ListCursor; conversationId?: string },
    trx: Executor = this.db,
  ): Promise<ConversationListRow[]> {
    let query = trx
      .selectFrom('conversation_members as cm')
      .innerJoin('conversations as c', 'c.id', 'cm.conversation_id')
      .where('cm.user_id', '=', userId)
      .where('cm.left_at', 'is', null)
      .selectAll('c')
      .select([
        'cm.role as my_role',
        'cm.joined_seq',
        'cm.delivered_seq',
        'cm.read_seq',
        'cm.muted_until',
        ACTIVITY.as('activity_us'),
        sql<number>`(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND m.seq > cm.read_seq
          AND m.deleted_at IS NULL AND m.sender_id IS DISTINCT FROM ${userId}::uuid)`.as('unread_count'),
        sql<
          string | null
        >`(SELECT m.id FROM messages m WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1)`.as(
          'last_message_id',
        ),
      ]);
    if (options.conversationId) query = query.where('c.id', '=', options.conversationId);
    if (options.cursor) {
      query = query.where(
        sql<boolean>`(${ACTIVITY}, c.id) < (${options.cursor.activity_us}::bigint, ${options.cursor.id}::uuid)`,
      );
    }
    const rows = await query.orderBy(ACTIVITY, 'desc').orderBy('c.id', 'desc').limit(options.limit).execute();
    return rows as unknown as ConversationListRow[];
  }

  findById(id: string, trx: Executor = this.db): Promise<ConversationRow | undefined> {
    return trx.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Row lock on the conversation: serialises membership changes (and takes no seq). */
  lockById(id: string, trx: Transaction<DB>): Promise<ConversationRow | undefined> {
    return trx.selectFrom('conversations').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  }

  findByDmKey(dmKey: string, trx: Executor = this.db): Promise<ConversationRow | undefined> {
    return trx.selectFrom('conversations').selectAll().where('dm_key', '=', dmKey).executeTakeFirst();
  }

  /** DM get-or-create: inserts unless the pair key exists; returns undefined when it did. */
  insertDm(
    values: { id: string; dm_key: string; created_by: string },
    trx: Executor = this.db,
  ): Promise<ConversationRow | undefined> {
    return trx
      .insertInto('conversations')
      .values({ ...values, type: 'dm' })
      .onConflict((oc) => oc.column('dm_key').doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  insertGroup(
    values: {
      id: string;
      name: string;
      created_by: string;
      avatar_url?: string | null;
      description?: string | null;
    },
    trx: Executor = this.db,
  ): Promise<ConversationRow> {
    return trx
      .insertInto('conversations')
      .values({ ...values, type: 'group' })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async update(
    id: string,
    changes: { name?: string; avatar_url?: string | null; description?: string | null },
    trx: Executor = this.db,
  ): Promise<void> {
    await trx
      .updateTable('conversations')
      .set({ ...changes, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .execute();
  }
}
