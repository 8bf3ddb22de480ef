// SQL for search: full-text over messages (GIN on messages.search) and name search over the caller's conversations.
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import type { DB, MessageType } from '../../db/schema.js';
import { currentMember } from '../access/current-member.js';

type Executor = Kysely<DB> | Transaction<DB>;

/** Text search configuration of messages.search (see the migration): `simple` works for every language. */
export const TEXT_SEARCH_CONFIG = 'simple';

// ts_headline markers: private-use characters, turned into <mark> after the snippet is HTML-escaped.
export const HIGHLIGHT_START = '\uE000';
export const HIGHLIGHT_STOP = '\uE001';

export interface MessageSearchFilter {
  userId: string;
  /** The raw web-search query (phrases, OR, -not). */
  query: string;
  /** Also match the last word as a prefix. */
  prefix: boolean;
  conversationId?: string;
  senderId?: string;
  type?: MessageType;
  from?: Date;
  to?: Date;
  /** Only ids below this one (pages go newest first; ids are UUID v7, so time-ordered). */
  beforeId?: string;
  limit: number;
  /**
   * `recent`: walk each of the caller's conversations newest first (best for words in many messages);
   * `bitmap`: intersect the word's GIN bitmap with the caller's conversations (best for rarer words);
   * `auto` (default) picks by the planner's estimate of how many messages match.
   */
  strategy?: 'auto' | 'recent' | 'bitmap';
}

/** Share of all messages above which a query counts as common (and `auto` walks conversations instead). */
const COMMON_SHARE = 0.2;

export interface MessageSearchRow {
  id: string;
  highlight: string;
}

export interface ConversationSearchRow {
  id: string;
  type: 'dm' | 'group' | 'external';
  name: string | null;
  avatar_url: string | null;
  last_seq: number;
  last_message_at: Date | null;
  partner_id: string | null;
  partner_username: string | null;
  partner_display_name: string | null;
  partner_avatar_url: string | null;
}

function tsQuery(query: string, prefix: boolean): RawBuilder<string> {
  const web = sql`websearch_to_tsquery('simple', ${query})`;
  // The last lexeme of the normalised query text gets :* (websearch syntax has no prefix operator).
  return prefix ? sql`to_tsquery('simple', regexp_replace(${web}::text, '''$', ''':*'))` : sql`${web}`;
}

export class SearchRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Matching messages, newest first: only conversations the user is a current member of, only messages
   * after they joined, never deleted ones. The snippet is computed for the page only.
   */
  async searchMessages(filter: MessageSearchFilter, trx: Executor = this.db): Promise<MessageSearchRow[]> {
    // The tsquery is an expression of the parameters, not a joined row: the planner folds it to a constant,
    // so it can pick the GIN index (rare words) or walk ids newest first (common words) from real statistics.
    const query = tsQuery(filter.query, filter.prefix);
    // The caller's conversations, as a literal list: with it the planner intersects the word's GIN bitmap with
    // the (conversation_id, seq) index before touching the heap, and estimates it well (unlike a subquery).
    const memberships = await trx
      .selectFrom('conversation_members')
      .select('conversation_id')
      .where('user_id', '=', filter.userId)
      .where(currentMember())
      .$if(filter.conversationId !== undefined, (qb) =>
        qb.where('conversation_id', '=', filter.conversationId as string),
      )
      .execute();
    if (memberships.length === 0) return [];
    const conversationIds = memberships.map((m) => m.conversation_id);
    const conditions = [
      sql`m.search @@ ${query}`,
      // A query with nothing to look for (only -not terms, or no words) finds nothing instead of scanning everything.
      sql`querytree(${query}) NOT IN ('T', '')`,
      sql`m.deleted_at IS NULL`,
      sql`m.seq > cm.joined_seq`,
    ];
    if (filter.senderId) conditions.push(sql`m.sender_id = ${filter.senderId}`);
    if (filter.type) conditions.push(sql`m.type = ${filter.type}`);
    if (filter.from) conditions.push(sql`m.created_at >= ${filter.from}`);
    if (filter.to) conditions.push(sql`m.created_at < ${filter.to}`);
    if (filter.beforeId) conditions.push(sql`m.id < ${filter.beforeId}`);
    let strategy = filter.strategy ?? 'auto';
    if (strategy === 'auto') {
      // Phrases are estimated like ANDs (far too high), so they always take the bitmap path.
      const share = filter.query.includes('"') ? undefined : await this.estimateShare(query, trx);
      strategy = share !== undefined && share >= COMMON_SHARE ? 'recent' : 'bitmap';
    }
    const hits =
      strategy === 'recent'
        ? // Per conversation, newest first on (conversation_id, seq), stopping after `limit` matches each.
          sql`
          SELECT h.id
          FROM conversation_members cm
          CROSS JOIN LATERAL (
            SELECT m.id FROM messages m
            WHERE m.conversation_id = cm.conversation_id AND ${sql.join(conditions, sql` AND `)}
            ORDER BY m.seq DESC
            LIMIT ${filter.limit}
          ) h
          WHERE cm.user_id = ${filter.userId} AND ${currentMember('cm')}
            AND cm.conversation_id = ANY(${conversationIds}::uuid[])
          ORDER BY h.id DESC
          LIMIT ${filter.limit}`
        : // The cast keeps the planner from probing the GIN index once per conversation; the literal list of
          // conversations lets it intersect the word's bitmap with the (conversation_id, seq) index instead.
          sql`
          SELECT m.id
          FROM messages m
          JOIN conversation_members cm
            ON cm.conversation_id = m.conversation_id::text::uuid AND cm.user_id = ${filter.userId} AND ${currentMember('cm')}
          WHERE m.conversation_id = ANY(${conversationIds}::uuid[]) AND ${sql.join(conditions, sql` AND `)}
          ORDER BY m.id DESC
          LIMIT ${filter.limit}`;
    const options = `StartSel=${HIGHLIGHT_START}, StopSel=${HIGHLIGHT_STOP}, MaxWords=30, MinWords=12, ShortWord=0, MaxFragments=2, FragmentDelimiter=" … "`;
    const { rows } = await sql<MessageSearchRow>`
      SELECT m.id, ts_headline('simple', coalesce(m.content, ''), ${query}, ${options}) AS highlight
      FROM (${hits}) hits
      JOIN messages m ON m.id = hits.id
      ORDER BY m.id DESC`.execute(trx);
    return rows;
  }

  private total: { rows: number; at: number } | undefined;

  /** The planner's estimate of the share of all messages matching the query; undefined when unknown. */
  private async estimateShare(query: RawBuilder<string>, trx: Executor): Promise<number | undefined> {
    try {
      if (!this.total || Date.now() - this.total.at > 60_000) {
        const { rows } = await sql<{ n: number }>`
          SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'messages'::regclass`.execute(trx);
        this.total = { rows: Number(rows[0]?.n ?? 0), at: Date.now() };
      }
      if (this.total.rows < 10_000) return undefined;
      const { rows } = await sql<Record<string, unknown>>`
        EXPLAIN (FORMAT JSON) SELECT 1 FROM messages m WHERE m.search @@ ${query}`.execute(trx);
      const raw = rows[0]?.['QUERY PLAN'];
      const plan = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{
        Plan?: { 'Plan Rows'?: number };
      }>;
      const matches = plan?.[0]?.Plan?.['Plan Rows'];
      return typeof matches === 'number' ? matches / this.total.rows : undefined;
    } catch {
      return undefined;
    }
  }

  /** The user's conversations whose group name, or DM partner's username / display name, contains `text`. */
  async searchConversations(
    userId: string,
    text: string,
    limit: number,
    offset: number,
    trx: Executor = this.db,
  ): Promise<ConversationSearchRow[]> {
    const q = text.toLowerCase();
    const escaped = q.replace(/[\\%_]/g, (c) => `\\${c}`);
    const contains = `%${escaped}%`;
    const starts = `${escaped}%`;
    const { rows } = await sql<ConversationSearchRow>`
      SELECT c.id, c.type, c.name, c.avatar_url, c.last_seq, c.last_message_at,
             p.id AS partner_id, p.username AS partner_username, p.display_name AS partner_display_name,
             p.avatar_url AS partner_avatar_url
      FROM conversation_members me
      JOIN conversations c ON c.id = me.conversation_id
      LEFT JOIN LATERAL (
        SELECT u.id, u.username, u.display_name, u.avatar_url
        FROM conversation_members o JOIN users u ON u.id = o.user_id
        WHERE c.type = 'dm' AND o.conversation_id = c.id AND o.user_id <> me.user_id
        LIMIT 1
      ) p ON true
      WHERE me.user_id = ${userId} AND ${currentMember('me')}
        AND (
          (c.type = 'group' AND lower(coalesce(c.name, '')) LIKE ${contains})
          OR (c.type = 'dm' AND (lower(p.username) LIKE ${contains} OR lower(coalesce(p.display_name, '')) LIKE ${contains}))
        )
      ORDER BY
        CASE WHEN lower(coalesce(c.name, p.display_name, '')) LIKE ${starts} OR lower(coalesce(p.username, '')) LIKE ${starts}
             THEN 0 ELSE 1 END,
        c.last_message_at DESC NULLS LAST, c.id DESC
      LIMIT ${limit} OFFSET ${offset}`.execute(trx);
    return rows;
  }
}
