// SQL for conversations and memberships. Optional transaction on every call; never throws HTTP errors.
import { type Kysely, sql, type Transaction } from 'kysely';
import { prepared } from '../../db/prepared.js';
import type { ConversationRow, DB } from '../../db/schema.js';
import type { MessageView } from '../../events/domain-events.js';
import { currentMember } from '../access/current-member.js';
import { MESSAGE_VIEW_COLUMNS, reactionsOf, toMessageView, type ViewRow } from '../messages/message-views.js';
import type { MemberView } from './conversations.schemas.js';

type Executor = Kysely<DB> | Transaction<DB>;

/** One row of the caller's conversation list: conversation + the caller's membership + what the list shows of it. */
export interface ConversationListRow
  extends Pick<
    ConversationRow,
    | 'id'
    | 'type'
    | 'name'
    | 'description'
    | 'avatar_url'
    | 'created_by'
    | 'last_seq'
    | 'created_at'
    | 'updated_at'
  > {
  my_role: 'admin' | 'member';
  joined_seq: number;
  delivered_seq: number;
  read_seq: number;
  muted_until: Date | null;
  activity_us: number;
  /** Messages after the caller's read watermark, not deleted, not the caller's own. */
  unread_count: number;
  /** Current members, longest-standing first. */
  members: MemberView[];
  /** The message with the highest seq (tombstones and system messages included), as the caller sees it. */
  last_message: MessageView | null;
}

export interface ListCursor {
  activity_us: number;
  id: string;
}

const ACTIVITY = sql<number>`(extract(epoch from coalesce(c.last_message_at, c.created_at)) * 1000000)::bigint`;

/** The last message's columns come prefixed in a list row, so they cannot collide with the conversation's. */
type LastMessageColumns = { [K in (typeof MESSAGE_VIEW_COLUMNS)[number] as `lm_${K}`]: ViewRow[K] | null } & {
  lm_reactions: ViewRow['reactions'];
};
const LAST_MESSAGE_COLUMNS = sql.raw(
  MESSAGE_VIEW_COLUMNS.map((column) => `m.${column} AS lm_${column}`).join(', '),
);

type RawListRow = Omit<ConversationListRow, 'members' | 'last_message'> &
  LastMessageColumns & { members: MemberView[] | string };

/** Explicit copies, not a loop over keys: this runs for every row of every list request. */
function toListRow(r: RawListRow): ConversationListRow {
  return {
    id: r.id,
    type: r.type,
    name: r.name,
    description: r.description,
    avatar_url: r.avatar_url,
    created_by: r.created_by,
    last_seq: r.last_seq,
    created_at: r.created_at,
    updated_at: r.updated_at,
    my_role: r.my_role,
    joined_seq: r.joined_seq,
    delivered_seq: r.delivered_seq,
    read_seq: r.read_seq,
    muted_until: r.muted_until,
    activity_us: r.activity_us,
    unread_count: r.unread_count,
    members: typeof r.members === 'string' ? (JSON.parse(r.members) as MemberView[]) : r.members,
    last_message:
      r.lm_id === null
        ? null
        : toMessageView({
            id: r.lm_id,
            conversation_id: r.lm_conversation_id,
            seq: r.lm_seq,
            sender_id: r.lm_sender_id,
            client_id: r.lm_client_id,
            type: r.lm_type,
            content: r.lm_content,
            metadata: r.lm_metadata,
            reply_to_id: r.lm_reply_to_id,
            forwarded_from_id: r.lm_forwarded_from_id,
            created_at: r.lm_created_at,
            edited_at: r.lm_edited_at,
            deleted_at: r.lm_deleted_at,
            reactions: r.lm_reactions,
          } as ViewRow),
  };
}

export class ConversationsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * The caller's current conversations by last activity (newest first), each with its unread count, current
   * members (json, joined_at written as Date#toISOString() does) and last message: one statement whatever the
   * page size. The page is cut first, so the per-conversation parts run for the page's rows only.
   */
  async listForUser(
    userId: string,
    options: { limit: number; cursor?: ListCursor; conversationId?: string },
    trx: Executor = this.db,
  ): Promise<ConversationListRow[]> {
    const only = options.conversationId ? sql`AND c.id = ${options.conversationId}` : sql``;
    const after = options.cursor
      ? sql`AND (${ACTIVITY}, c.id) < (${options.cursor.activity_us}::bigint, ${options.cursor.id}::uuid)`
      : sql``;
    // One prepared statement per shape of the text.
    const name = `tma_list${options.conversationId ? '_one' : ''}${options.cursor ? '_after' : ''}`;
    const { rows } = await sql<RawListRow>`${sql.raw(prepared(name))}
      WITH p AS (
        SELECT c.id, c.type, c.name, c.description, c.avatar_url, c.created_by, c.last_seq, c.created_at,
          c.updated_at, cm.role AS my_role, cm.joined_seq, cm.delivered_seq, cm.read_seq, cm.muted_until,
          ${ACTIVITY} AS activity_us
        FROM conversation_members cm JOIN conversations c ON c.id = cm.conversation_id
        WHERE cm.user_id = ${userId} AND ${currentMember('cm')} ${only} ${after}
        ORDER BY activity_us DESC, c.id DESC
        LIMIT ${options.limit}
      )
      SELECT p.*,
        (SELECT count(*) FROM messages m WHERE m.conversation_id = p.id AND m.seq > p.read_seq
          AND m.deleted_at IS NULL AND m.sender_id IS DISTINCT FROM ${userId}::uuid) AS unread_count,
        coalesce((
          SELECT json_agg(json_build_object('user_id', mm.user_id, 'role', mm.role,
            'joined_at', to_char(mm.joined_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
            ORDER BY mm.joined_at, mm.user_id)
          FROM conversation_members mm WHERE mm.conversation_id = p.id AND ${currentMember('mm')}
        ), '[]'::json) AS members,
        lm.*
      FROM p LEFT JOIN LATERAL (
        SELECT ${LAST_MESSAGE_COLUMNS}, ${reactionsOf(sql.ref('m.id'), userId)} AS lm_reactions
        FROM messages m WHERE m.conversation_id = p.id ORDER BY m.seq DESC LIMIT 1
      ) lm ON true
      ORDER BY p.activity_us DESC, p.id DESC`.execute(trx);
    return rows.map(toListRow);
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
