// Message views: the columns a view shows, the reaction summary as json, and the row -> view mapping.
import { type RawBuilder, sql } from 'kysely';
import type { MessageRow } from '../../db/schema.js';
import type { MessageView, ReactionSummary } from '../../events/domain-events.js';

/** A stored message as queries return it: every column but the search vector (it is as large as the content). */
export type StoredMessage = Omit<MessageRow, 'search'>;

/** What a message view is made of: the row (its search vector is never read) and its reaction summary. */
export type ViewRow = StoredMessage & { reactions: ReactionSummary[] | string | null };

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

export const VIEW_COLUMNS = sql.raw(MESSAGE_VIEW_COLUMNS.map((column) => `m.${column}`).join(', '));

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
