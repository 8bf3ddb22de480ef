// SQL for access checks: a membership with its conversation (and, in a DM, the peer and any block) in one query.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { ConversationRow, DB, MemberRow } from '../../db/schema.js';
import type { StoredMessage } from '../messages/message-views.js';
import { currentMember } from './current-member.js';

export type { StoredMessage } from '../messages/message-views.js';

type Executor = Kysely<DB> | Transaction<DB>;

/** A current membership as checked: the conversation, the member's row, and what a DM needs to know. */
export interface Membership {
  conversation: ConversationRow;
  member: MemberRow;
  /** The other member of a DM; null in a group. */
  peerId: string | null;
  /** A block, in either direction, between the two members of a DM; false in a group. */
  dmBlocked: boolean;
}

export interface VisibleMessage extends Membership {
  message: StoredMessage;
}

// Records over every key, so a column added to a table and not here fails to compile.
const CONVERSATION: Record<keyof ConversationRow, true> = {
  id: true,
  type: true,
  name: true,
  description: true,
  avatar_url: true,
  dm_key: true,
  created_by: true,
  last_seq: true,
  last_message_at: true,
  created_at: true,
  updated_at: true,
};
const MEMBER: Record<keyof MemberRow, true> = {
  conversation_id: true,
  user_id: true,
  role: true,
  joined_at: true,
  joined_seq: true,
  delivered_seq: true,
  read_seq: true,
  delivered_at: true,
  read_at: true,
  muted_until: true,
  left_at: true,
};
const MESSAGE: Record<keyof StoredMessage, true> = {
  id: true,
  conversation_id: true,
  seq: true,
  sender_id: true,
  client_id: true,
  type: true,
  content: true,
  metadata: true,
  reply_to_id: true,
  forwarded_from_id: true,
  created_at: true,
  edited_at: true,
  deleted_at: true,
};

const columns = (alias: string, keys: object) =>
  Object.keys(keys).map((key) => `${alias}.${key} AS ${alias}_${key}`);

/** Conversation (c_*), member (cm_*), the DM peer and whether a block stands between the two. */
const MEMBERSHIP_COLUMNS = sql.raw(
  [
    ...columns('c', CONVERSATION),
    ...columns('cm', MEMBER),
    'peer.user_id AS peer_id',
    `(peer.user_id IS NOT NULL AND EXISTS (
       SELECT 1 FROM user_blocks b
        WHERE (b.blocker_id = cm.user_id AND b.blocked_id = peer.user_id)
           OR (b.blocker_id = peer.user_id AND b.blocked_id = cm.user_id))) AS dm_blocked`,
  ].join(', '),
);

/** The DM's other member: one index probe, skipped entirely for groups. */
const PEER = sql`LEFT JOIN LATERAL (
    SELECT o.user_id FROM conversation_members o
     WHERE c.type = 'dm' AND o.conversation_id = cm.conversation_id AND o.user_id <> cm.user_id
     LIMIT 1) peer ON true`;

type Row = Record<string, unknown>;

function pick<T>(row: Row, alias: string, keys: object): T {
  const out: Row = {};
  for (const key of Object.keys(keys)) out[key] = row[`${alias}_${key}`];
  return out as T;
}

function toMembership(row: Row): Membership {
  return {
    conversation: pick<ConversationRow>(row, 'c', CONVERSATION),
    member: pick<MemberRow>(row, 'cm', MEMBER),
    peerId: (row.peer_id as string | null) ?? null,
    dmBlocked: row.dm_blocked === true,
  };
}

export class AccessRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The user's current membership of the conversation, or undefined. */
  async membership(
    conversationId: string,
    userId: string,
    trx: Executor = this.db,
  ): Promise<Membership | undefined> {
    const { rows } = await sql<Row>`
      SELECT ${MEMBERSHIP_COLUMNS}
        FROM conversation_members cm
        JOIN conversations c ON c.id = cm.conversation_id
        ${PEER}
       WHERE cm.conversation_id = ${conversationId} AND cm.user_id = ${userId} AND ${currentMember('cm')}`.execute(
      trx,
    );
    return rows[0] ? toMembership(rows[0]) : undefined;
  }

  /** The message with the user's current membership of its conversation, or undefined (unknown or not a member). */
  async visibleMessage(
    messageId: string,
    userId: string,
    trx: Executor = this.db,
  ): Promise<VisibleMessage | undefined> {
    const messageColumns = sql.raw(columns('m', MESSAGE).join(', '));
    const { rows } = await sql<Row>`
      SELECT ${messageColumns}, ${MEMBERSHIP_COLUMNS}
        FROM messages m
        JOIN conversation_members cm
          ON cm.conversation_id = m.conversation_id AND cm.user_id = ${userId} AND ${currentMember('cm')}
        JOIN conversations c ON c.id = cm.conversation_id
        ${PEER}
       WHERE m.id = ${messageId}`.execute(trx);
    const row = rows[0];
    if (!row) return undefined;
    return { ...toMembership(row), message: pick<StoredMessage>(row, 'm', MESSAGE) };
  }

  /** Ids of the conversations the user currently belongs to. */
  async conversationIds(userId: string, trx: Executor = this.db): Promise<string[]> {
    const rows = await trx
      .selectFrom('conversation_members')
      .select('conversation_id')
      .where('user_id', '=', userId)
      .where(currentMember())
      .execute();
    return rows.map((r) => r.conversation_id);
  }

  /**
   * The user's contacts: accepted friends and current co-members of any conversation, minus anyone with a
   * block in either direction. The one definition of who may see a user's presence.
   */
  async contactIds(userId: string, trx: Executor = this.db): Promise<string[]> {
    const { rows } = await sql<{ id: string }>`
      SELECT other.user_id AS id
        FROM conversation_members mine
        JOIN conversation_members other ON other.conversation_id = mine.conversation_id
       WHERE mine.user_id = ${userId} AND ${currentMember('mine')} AND ${currentMember('other')}
         AND other.user_id <> ${userId}
      UNION
      SELECT CASE WHEN f.requester_id = ${userId} THEN f.receiver_id ELSE f.requester_id END
        FROM friendships f
       WHERE f.status = 'accepted' AND (f.requester_id = ${userId} OR f.receiver_id = ${userId})
      EXCEPT
      SELECT CASE WHEN b.blocker_id = ${userId} THEN b.blocked_id ELSE b.blocker_id END
        FROM user_blocks b
       WHERE b.blocker_id = ${userId} OR b.blocked_id = ${userId}`.execute(trx);
    return rows.map((r) => r.id);
  }

  /** Whether the file is attached to a live message of a conversation the user currently belongs to. */
  async fileAttachedWhereMember(fileId: string, userId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('message_attachments as a')
      .innerJoin('messages as m', 'm.id', 'a.message_id')
      .innerJoin('conversation_members as cm', 'cm.conversation_id', 'm.conversation_id')
      .select('a.file_id')
      .where('a.file_id', '=', fileId)
      .where('m.deleted_at', 'is', null)
      .where('cm.user_id', '=', userId)
      .where(currentMember('cm'))
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Whether the file is its uploader's profile picture, or the picture of a group the user belongs to. */
  async avatarVisibleTo(file: { id: string; uploader_id: string | null }, userId: string): Promise<boolean> {
    const path = `/api/v1/files/${file.id}/content`;
    const row = await this.db
      .selectFrom('users')
      .select('id')
      .where('id', '=', file.uploader_id)
      .where('avatar_url', '=', path)
      .unionAll((eb) =>
        eb
          .selectFrom('conversations as c')
          .innerJoin('conversation_members as cm', 'cm.conversation_id', 'c.id')
          .select('c.id')
          .where('c.avatar_url', '=', path)
          .where('cm.user_id', '=', userId)
          .where(currentMember('cm')),
      )
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }
}
