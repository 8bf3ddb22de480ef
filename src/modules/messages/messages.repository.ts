// SQL for messages: every statement of a send (the batch and the one-message path), edits, tombstones, and
// message views (with a viewer's reaction summary) in one query.
import { type Kysely, type SelectQueryBuilder, sql, type Transaction } from 'kysely';
import { newId } from '../../db/ids.js';
import { prepared } from '../../db/prepared.js';
import type { DB, MessageRow, MessageType } from '../../db/schema.js';
import type { MessageView } from '../../events/domain-events.js';
import { currentMember } from '../access/current-member.js';
import {
  MESSAGE_VIEW_COLUMNS,
  reactionsOf,
  type StoredMessage,
  toMessageView,
  VIEW_COLUMNS,
  type ViewRow,
} from './message-views.js';

type Executor = Kysely<DB> | Transaction<DB>;

/** The columns a stored message is returned with (no search vector). */
const VIEW_COLUMNS_PLAIN = sql.raw(MESSAGE_VIEW_COLUMNS.join(', '));

export interface AppendMessageInput {
  conversation_id: string;
  sender_id: string | null;
  type: MessageType;
  content: string | null;
  metadata?: Record<string, unknown>;
  client_id?: string | null;
  reply_to_id?: string | null;
  forwarded_from_id?: string | null;
}

/** Thrown inside the transaction when (sender_id, client_id) already exists, so the taken seq is rolled back. */
export class DuplicateClientIdError extends Error {
  constructor() {
    super('duplicate client_id');
    this.name = 'DuplicateClientIdError';
  }
}

/** A message of a batch: its id is chosen before the write, so each answer finds its row. */
export type BatchInput = AppendMessageInput & { id: string };

/**
 * One row per message of a batch: the stored message (id null when not written), or the refusal the checked
 * path would give, checked in its order (membership, then client_id, then DM blocks), with the original message
 * of a duplicate client_id. A refused message took no seq.
 */
export type BatchRow = { [K in keyof StoredMessage]: StoredMessage[K] | null } & {
  request_id: string;
  refusal: 'not_member' | 'duplicate' | 'blocked' | null;
  original_id: string | null;
  original_conversation_id: string | null;
};

export interface HistoryOptions {
  beforeSeq?: number;
  afterSeq?: number;
  limit: number;
}

export class MessagesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** messages + a `reactions` json column: [{emoji, count, me}] for the viewer, oldest emoji first. */
  private views(trx: Executor, viewerId: string | null): SelectQueryBuilder<DB, 'messages', ViewRow> {
    return trx
      .selectFrom('messages')
      .select(MESSAGE_VIEW_COLUMNS)
      .select(reactionsOf(sql.ref('messages.id'), viewerId).as('reactions')) as unknown as SelectQueryBuilder<
      DB,
      'messages',
      ViewRow
    >;
  }

  /** Message views by ids (any order in, the ids' order out; unknown ids are skipped). */
  async viewsByIds(
    ids: readonly string[],
    viewerId: string | null,
    trx: Executor = this.db,
  ): Promise<MessageView[]> {
    if (ids.length === 0) return [];
    const rows = await this.views(trx, viewerId)
      .where('messages.id', 'in', [...new Set(ids)])
      .execute();
    const byId = new Map(rows.map((r) => [r.id, toMessageView(r)]));
    return ids.flatMap((id) => {
      const view = byId.get(id);
      return view ? [view] : [];
    });
  }

  async viewById(
    id: string,
    viewerId: string | null,
    trx: Executor = this.db,
  ): Promise<MessageView | undefined> {
    const [view] = await this.viewsByIds([id], viewerId, trx);
    return view;
  }

  /**
   * History newest first; with afterSeq the `limit` messages right after it (still returned newest first).
   * Absent bounds are bounds no seq reaches, so there are two statement texts, each prepared once per connection.
   */
  async history(
    conversationId: string,
    viewerId: string,
    options: HistoryOptions,
    trx: Executor = this.db,
  ): Promise<MessageView[]> {
    const ascending = options.afterSeq !== undefined && options.beforeSeq === undefined;
    const { rows } =
      await sql<ViewRow>`${sql.raw(prepared(ascending ? 'tma_history_forward' : 'tma_history'))}
      SELECT ${VIEW_COLUMNS}, ${reactionsOf(sql.ref('m.id'), viewerId)} AS reactions
      FROM messages m
      WHERE m.conversation_id = ${conversationId}
        AND m.seq < ${options.beforeSeq ?? Number.MAX_SAFE_INTEGER}
        AND m.seq > ${options.afterSeq ?? Number.MIN_SAFE_INTEGER}
      ORDER BY m.seq ${sql.raw(ascending ? 'ASC' : 'DESC')}
      LIMIT ${options.limit}`.execute(trx);
    const views = rows.map(toMessageView);
    return ascending ? views.reverse() : views;
  }

  findById(id: string, trx: Executor = this.db): Promise<MessageRow | undefined> {
    return trx.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByClientId(
    senderId: string,
    clientId: string,
    trx: Executor = this.db,
  ): Promise<MessageRow | undefined> {
    return trx
      .selectFrom('messages')
      .selectAll()
      .where('sender_id', '=', senderId)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
  }

  /**
   * The checked path's write: takes the conversation's next seq and inserts the message and its `message.created`
   * event in ONE statement, so the conversation row lock is held for a single round trip before COMMIT.
   * Throws DuplicateClientIdError on a client_id race (the caller's transaction then rolls the seq back).
   */
  async append(input: AppendMessageInput, trx: Transaction<DB>): Promise<MessageRow> {
    const id = newId();
    const result = await sql<MessageRow>`
      WITH next AS (
        UPDATE conversations
           SET last_seq = last_seq + 1, last_message_at = GREATEST(last_message_at, now())
         WHERE id = ${input.conversation_id}
        RETURNING last_seq
      ), message AS (
        INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, type, content, metadata,
                              reply_to_id, forwarded_from_id)
        SELECT ${id}::uuid, ${input.conversation_id}::uuid, next.last_seq, ${input.sender_id}::uuid,
               ${input.client_id ?? null}::uuid, ${input.type}::text, ${input.content}::text,
               ${JSON.stringify(input.metadata ?? {})}::jsonb, ${input.reply_to_id ?? null}::uuid,
               ${input.forwarded_from_id ?? null}::uuid
          FROM next
        ON CONFLICT (sender_id, client_id) DO NOTHING
        RETURNING ${VIEW_COLUMNS_PLAIN}
      ), event AS (
        INSERT INTO conversation_events (conversation_id, seq, type, actor_id, message_id, payload)
        SELECT conversation_id, seq, 'message.created', sender_id, id, '{}'::jsonb FROM message
      )
      SELECT * FROM message`.execute(trx);
    const row = result.rows[0];
    if (row) return row;
    // Either the conversation vanished (no seq taken) or the client_id already exists.
    const exists = await trx
      .selectFrom('conversations')
      .select('id')
      .where('id', '=', input.conversation_id)
      .executeTakeFirst();
    if (!exists) throw new Error(`conversation ${input.conversation_id} does not exist`);
    throw new DuplicateClientIdError();
  }

  /**
   * The batched send, ONE prepared statement: checks each message (see BatchRow) and answers a refusal per
   * message; locks the conversations of the rest in id order (so batches of several instances cannot deadlock
   * on each other); takes consecutive seqs per conversation in arrival order; inserts the messages and their
   * `message.created` events. A refused message took no seq.
   */
  async insertBatch(batch: readonly BatchInput[], trx: Executor = this.db): Promise<BatchRow[]> {
    const input = batch.map((m, idx) => ({
      idx,
      id: m.id,
      conversation_id: m.conversation_id,
      sender_id: m.sender_id,
      client_id: m.client_id ?? null,
      type: m.type,
      content: m.content,
      metadata: m.metadata ?? {},
      reply_to_id: m.reply_to_id ?? null,
      forwarded_from_id: m.forwarded_from_id ?? null,
    }));
    const { rows } = await sql<BatchRow>`${sql.raw(prepared('tma_send_batch'))}
      WITH input AS (
        SELECT * FROM jsonb_to_recordset(${JSON.stringify(input)}::jsonb) AS x(
          idx int, id uuid, conversation_id uuid, sender_id uuid, client_id uuid, type text, content text,
          metadata jsonb, reply_to_id uuid, forwarded_from_id uuid)
      ), checked AS (
        -- LATERAL ... LIMIT 1: one index probe per message, never a hash of a whole table (a plan made while
        -- the tables were small stays cheap as they grow).
        SELECT i.*, dup.id AS original_id, dup.conversation_id AS original_conversation_id,
               CASE WHEN member.one IS NULL THEN 'not_member'
                    WHEN dup.id IS NOT NULL THEN 'duplicate'
                    WHEN block.blocked THEN 'blocked' END AS refusal
          FROM input i
          LEFT JOIN LATERAL (SELECT c.type FROM conversations c WHERE c.id = i.conversation_id LIMIT 1) AS c ON true
          LEFT JOIN LATERAL (
               SELECT 1 AS one FROM conversation_members cm
                WHERE cm.conversation_id = i.conversation_id AND cm.user_id = i.sender_id AND ${currentMember('cm')}
                LIMIT 1) AS member ON true
          LEFT JOIN LATERAL (
               SELECT m.id, m.conversation_id FROM messages m
                WHERE m.sender_id = i.sender_id AND m.client_id = i.client_id
                LIMIT 1) AS dup ON true
          LEFT JOIN LATERAL (
               SELECT true AS blocked FROM user_blocks b
                JOIN conversation_members o
                  ON o.conversation_id = i.conversation_id AND ${currentMember('o')}
                 AND o.user_id = CASE WHEN b.blocker_id = i.sender_id THEN b.blocked_id ELSE b.blocker_id END
               WHERE c.type = 'dm' AND (b.blocker_id = i.sender_id OR b.blocked_id = i.sender_id)
               LIMIT 1) AS block ON true
      ), fresh AS (
        SELECT ch.*, row_number() OVER (PARTITION BY ch.conversation_id ORDER BY ch.idx) AS rank
          FROM checked ch WHERE ch.refusal IS NULL
      ), counts AS (
        SELECT conversation_id, count(*)::bigint AS n FROM fresh GROUP BY conversation_id
      ), locked AS MATERIALIZED (
        SELECT c.id FROM conversations c
         WHERE c.id IN (SELECT conversation_id FROM counts)
         ORDER BY c.id
           FOR UPDATE OF c
      ), next AS (
        UPDATE conversations c
           SET last_seq = c.last_seq + counts.n, last_message_at = GREATEST(c.last_message_at, now())
          FROM counts
         WHERE c.id = counts.conversation_id
           -- Evaluated once, before the first row is updated: every lock is taken by \`locked\`, in id order.
           AND (SELECT count(*) FROM locked) > 0
        RETURNING c.id, c.last_seq - counts.n AS base
      ), bases AS MATERIALIZED (
        -- One row: conversation id -> the seq before this batch (a lookup per message, not a join of CTEs).
        SELECT jsonb_object_agg(id, base) AS base FROM next
      ), message AS (
        INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, type, content, metadata,
                              reply_to_id, forwarded_from_id)
        SELECT f.id, f.conversation_id, (b.base ->> f.conversation_id::text)::bigint + f.rank, f.sender_id,
               f.client_id, f.type, f.content, f.metadata, f.reply_to_id, f.forwarded_from_id
          FROM fresh f CROSS JOIN bases b
         WHERE b.base ? f.conversation_id::text
        RETURNING ${VIEW_COLUMNS_PLAIN}
      ), event AS (
        INSERT INTO conversation_events (conversation_id, seq, type, actor_id, message_id, payload)
        SELECT conversation_id, seq, 'message.created', sender_id, id, '{}'::jsonb FROM message
      )
      SELECT ch.id AS request_id, ch.refusal, ch.original_id, ch.original_conversation_id, m.*
        FROM checked ch LEFT JOIN message m ON m.id = ch.id`.execute(trx);
    return rows;
  }

  async updateContent(
    id: string,
    content: string,
    metadata: Record<string, unknown> | undefined,
    trx: Executor = this.db,
  ): Promise<void> {
    await trx
      .updateTable('messages')
      .set({
        content,
        edited_at: sql<Date>`now()`,
        ...(metadata !== undefined ? { metadata: JSON.stringify(metadata) } : {}),
      })
      .where('id', '=', id)
      .execute();
  }

  /** Soft delete: the tombstone keeps its seq; content and metadata are cleared. */
  async tombstone(id: string, trx: Executor = this.db): Promise<void> {
    await trx
      .updateTable('messages')
      .set({ content: null, metadata: '{}', deleted_at: sql<Date>`now()` })
      .where('id', '=', id)
      .execute();
  }
}
