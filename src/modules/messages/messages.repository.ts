// SQL for messages: inserts, edits, tombstones, and message views (with a viewer's reaction summary) in one query.
import { type Kysely, type RawBuilder, type SelectQueryBuilder, sql, type Transaction } from 'kysely';
import { prepared } from '../../db/prepared.js';
import type { DB, MessageRow, MessageType } from '../../db/schema.js';
import type { MessageView, ReactionSummary } from '../../events/domain-events.js';

type Executor = Kysely<DB> | Transaction<DB>;

/** What a message view is made of: the row (its search vector is never read) and its reaction summary. */
export type ViewRow = Omit<MessageRow, 'search'> & { reactions: ReactionSummary[] | string | null };

/** The columns of `messages` that a view shows (not the search vector: it is as large as the content). */
export const MESSAGE_VIEW_COLUMNS = [
  'id',
  'conversation_id',
  'seq',
  'sender_id',
  'client_id',
  'type',
  'content',
  'metadata',
  'reply_to_id',
  'forwarded_from_id',
  'created_at',
  'edited_at',
  'deleted_at',
] as const satisfies ReadonlyArray<keyof ViewRow>;

const VIEW_COLUMNS = sql.raw(MESSAGE_VIEW_COLUMNS.map((column) => `m.${column}`).join(', '));

/** The reaction summary of one message as json: [{emoji, count, me}] for the viewer, oldest emoji first. */
export function reactionsOf(
  messageId: RawBuilder<unknown>,
  viewerId: string | null,
): RawBuilder<ReactionSummary[]> {
  return sql<ReactionSummary[]>`coalesce((
    SELECT json_agg(json_build_object('emoji', r.emoji, 'count', r.n, 'me', r.me) ORDER BY r.first_at, r.emoji)
    FROM (
      SELECT emoji, count(*)::int AS n, coalesce(bool_or(user_id = ${viewerId}::uuid), false) AS me, min(created_at) AS first_at
      FROM message_reactions WHERE message_id = ${messageId} GROUP BY emoji
    ) r
  ), '[]'::json)`;
}

export function toMessageView(row: ViewRow): MessageView {
  const reactions =
    typeof row.reactions === 'string' ? (JSON.parse(row.reactions) as ReactionSummary[]) : row.reactions;
  const deleted = row.deleted_at !== null;
  return {
    id: row.id,
    conversation_id: row.conversation_id,
    seq: Number(row.seq),
    sender_id: row.sender_id,
    client_id: row.client_id,
    type: row.type,
    content: deleted ? null : row.content,
    metadata: deleted ? {} : ((row.metadata ?? {}) as Record<string, unknown>),
    reply_to_id: row.reply_to_id,
    forwarded_from_id: row.forwarded_from_id,
    created_at: row.created_at.toISOString(),
    edited_at: row.edited_at ? row.edited_at.toISOString() : null,
    deleted_at: row.deleted_at ? row.deleted_at.toISOString() : null,
    reactions: deleted ? [] : (reactions ?? []),
    attachments: [],
  };
}

export interface NewMessageFields {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string | null;
  client_id: string | null;
  type: MessageType;
  content: string | null;
  metadata: Record<string, unknown>;
  reply_to_id: string | null;
  forwarded_from_id: string | null;
}

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

  /** Inserts unless (sender_id, client_id) exists; returns undefined on that conflict. */
  async insert(fields: NewMessageFields, trx: Executor = this.db): Promise<MessageRow | undefined> {
    return trx
      .insertInto('messages')
      .values({ ...fields, metadata: JSON.stringify(fields.metadata) })
      .onConflict((oc) => oc.columns(['sender_id', 'client_id']).doNothing())
      .returningAll()
      .executeTakeFirst();
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
