// SQL for conversations and memberships. Optional transaction on every call; never throws HTTP errors.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { ConversationRow, DB, MemberRow } from '../../db/schema.js';

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

  /** Current members of several conversations, longest-standing first, in one query. */
  currentMembersOf(conversationIds: readonly string[], trx: Executor = this.db): Promise<MemberRow[]> {
    if (conversationIds.length === 0) return Promise.resolve([]);
    return trx
      .selectFrom('conversation_members')
      .selectAll()
      .where('conversation_id', 'in', [...conversationIds])
      .where('left_at', 'is', null)
      .orderBy('joined_at')
      .orderBy('user_id')
      .execute();
  }

  /** The user's current membership with its conversation, in one query; undefined for non-members. */
  async currentMembership(
    conversationId: string,
    userId: string,
    trx: Executor = this.db,
  ): Promise<{ conversation: ConversationRow; member: MemberRow } | undefined> {
    const row = await trx
      .selectFrom('conversation_members as cm')
      .innerJoin('conversations as c', 'c.id', 'cm.conversation_id')
      .selectAll('c')
      .select([
        'cm.user_id',
        'cm.role',
        'cm.joined_at',
        'cm.joined_seq',
        'cm.delivered_seq',
        'cm.read_seq',
        'cm.delivered_at',
        'cm.read_at',
        'cm.muted_until',
        'cm.left_at',
      ])
      .where('cm.conversation_id', '=', conversationId)
      .where('cm.user_id', '=', userId)
      .where('cm.left_at', 'is', null)
      .executeTakeFirst();
    if (!row) return undefined;
    const {
      user_id,
      role,
      joined_at,
      joined_seq,
      delivered_seq,
      read_seq,
      delivered_at,
      read_at,
      muted_until,
      left_at,
      ...c
    } = row;
    return {
      conversation: c,
      member: {
        conversation_id: c.id,
        user_id,
        role,
        joined_at,
        joined_seq,
        delivered_seq,
        read_seq,
        delivered_at,
        read_at,
        muted_until,
        left_at,
      },
    };
  }

  /** Every current membership's last_seq (sync tells clients which conversations are stale). */
  async membershipSeqs(
    userId: string,
    trx: Executor = this.db,
  ): Promise<Array<{ conversation_id: string; last_seq: number }>> {
    const rows = await trx
      .selectFrom('conversation_members as cm')
      .innerJoin('conversations as c', 'c.id', 'cm.conversation_id')
      .select(['c.id as conversation_id', 'c.last_seq'])
      .where('cm.user_id', '=', userId)
      .where('cm.left_at', 'is', null)
      .execute();
    return rows.map((r) => ({ conversation_id: r.conversation_id, last_seq: Number(r.last_seq) }));
  }

  /** Current members with their watermarks and settings (receipts, read-receipt privacy). */
  membersWithSettings(conversationId: string, trx: Executor = this.db) {
    return trx
      .selectFrom('conversation_members as cm')
      .innerJoin('users as u', 'u.id', 'cm.user_id')
      .select([
        'cm.user_id',
        'cm.delivered_seq',
        'cm.read_seq',
        'cm.delivered_at',
        'cm.read_at',
        'cm.joined_at',
        'u.settings',
      ])
      .where('cm.conversation_id', '=', conversationId)
      .where('cm.left_at', 'is', null)
      .orderBy('cm.joined_at')
      .execute();
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

  member(conversationId: string, userId: string, trx: Executor = this.db): Promise<MemberRow | undefined> {
    return trx
      .selectFrom('conversation_members')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
  }

  /** Adds members, or brings back ones who left (left_at cleared, role reset, joined again now). */
  async upsertMembers(
    conversationId: string,
    members: ReadonlyArray<{ user_id: string; role: 'admin' | 'member' }>,
    joinedSeq: number,
    trx: Executor = this.db,
  ): Promise<void> {
    if (members.length === 0) return;
    await trx
      .insertInto('conversation_members')
      .values(
        members.map((m) => ({
          conversation_id: conversationId,
          user_id: m.user_id,
          role: m.role,
          joined_seq: joinedSeq,
          delivered_seq: joinedSeq,
          read_seq: joinedSeq,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['conversation_id', 'user_id']).doUpdateSet((eb) => ({
          role: eb.ref('excluded.role'),
          joined_seq: eb.ref('excluded.joined_seq'),
          delivered_seq: sql<number>`GREATEST(conversation_members.delivered_seq, excluded.delivered_seq)`,
          read_seq: sql<number>`GREATEST(conversation_members.read_seq, excluded.read_seq)`,
          joined_at: sql<Date>`now()`,
          left_at: null,
          muted_until: null,
        })),
      )
      .execute();
  }

  async setRole(
    conversationId: string,
    userId: string,
    role: 'admin' | 'member',
    trx: Executor = this.db,
  ): Promise<void> {
    await trx
      .updateTable('conversation_members')
      .set({ role })
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .execute();
  }

  async markLeft(conversationId: string, userId: string, trx: Executor = this.db): Promise<void> {
    await trx
      .updateTable('conversation_members')
      .set({ left_at: sql<Date>`now()` })
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .execute();
  }

  async setMutedUntil(
    conversationId: string,
    userId: string,
    mutedUntil: Date | null,
    trx: Executor = this.db,
  ): Promise<void> {
    await trx
      .updateTable('conversation_members')
      .set({ muted_until: mutedUntil })
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .execute();
  }

  async currentMembershipIds(userId: string, trx: Executor = this.db): Promise<string[]> {
    const rows = await trx
      .selectFrom('conversation_members')
      .select('conversation_id')
      .where('user_id', '=', userId)
      .where('left_at', 'is', null)
      .execute();
    return rows.map((r) => r.conversation_id);
  }

  async currentMemberIds(conversationId: string, trx: Executor = this.db): Promise<string[]> {
    const rows = await trx
      .selectFrom('conversation_members')
      .select('user_id')
      .where('conversation_id', '=', conversationId)
      .where('left_at', 'is', null)
      .orderBy('joined_at')
      .execute();
    return rows.map((r) => r.user_id);
  }

  /** Distinct users who currently share at least one conversation with the user. */
  async contactIds(userId: string, trx: Executor = this.db): Promise<string[]> {
    const rows = await trx
      .selectFrom('conversation_members as mine')
      .innerJoin('conversation_members as other', 'other.conversation_id', 'mine.conversation_id')
      .where('mine.user_id', '=', userId)
      .where('mine.left_at', 'is', null)
      .where('other.left_at', 'is', null)
      .where('other.user_id', '<>', userId)
      .select('other.user_id')
      .distinct()
      .execute();
    return rows.map((r) => r.user_id);
  }

  /** Watermarks only move forward (GREATEST); read implies delivered. Returns the new values. */
  async raiseWatermarks(
    conversationId: string,
    userId: string,
    marks: { delivered?: number; read?: number },
    trx: Executor = this.db,
  ): Promise<{ delivered_seq: number; read_seq: number } | undefined> {
    const read = marks.read ?? 0;
    const delivered = Math.max(marks.delivered ?? 0, read);
    const row = await trx
      .updateTable('conversation_members')
      .set({
        delivered_seq: sql<number>`GREATEST(delivered_seq, ${delivered}::bigint)`,
        read_seq: sql<number>`GREATEST(read_seq, ${read}::bigint)`,
        delivered_at: sql<Date>`CASE WHEN ${delivered}::bigint > delivered_seq THEN now() ELSE delivered_at END`,
        read_at: sql<Date>`CASE WHEN ${read}::bigint > read_seq THEN now() ELSE read_at END`,
      })
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .where('left_at', 'is', null)
      .returning(['delivered_seq', 'read_seq'])
      .executeTakeFirst();
    return row ? { delivered_seq: Number(row.delivered_seq), read_seq: Number(row.read_seq) } : undefined;
  }
}
