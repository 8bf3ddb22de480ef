// SQL of e-mail digests: who is due one, what they have not read, and when they last got one.
import { type Kysely, sql } from 'kysely';
import type { DB } from '../../db/schema.js';

export interface DigestConversation {
  conversation_id: string;
  type: 'dm' | 'group';
  name: string | null;
  unread: number;
}

export interface DigestMessage {
  conversation_id: string;
  sender_name: string | null;
  type: string;
  content: string | null;
  created_at: Date;
}

export class DigestRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Users due a digest at `now`: an e-mail address, digests and notifications on, seen longer than `afterSeconds`
   * ago, no digest in the last `intervalSeconds`, and a message from someone else, unread in a conversation they
   * have not muted, older than `afterSeconds` and newer than their last digest. `userId` narrows it to one user.
   */
  async due(now: Date, afterSeconds: number, intervalSeconds: number, limit: number, userId?: string) {
    const quietSince = new Date(now.getTime() - afterSeconds * 1000);
    const lastAllowed = new Date(now.getTime() - intervalSeconds * 1000);
    const rows = await sql<{
      id: string;
      email: string;
      settings: Record<string, unknown>;
      last_digest_at: Date | null;
    }>`
      SELECT u.id, u.email, u.settings, s.last_digest_at
      FROM users u
      LEFT JOIN notification_user_state s ON s.user_id = u.id
      WHERE u.email IS NOT NULL AND u.deactivated_at IS NULL
        AND ${userId ? sql`u.id = ${userId}` : sql`true`}
        AND coalesce((u.settings->'notifications'->>'email_digest')::boolean, true)
        AND coalesce((u.settings->'notifications'->>'enabled')::boolean, true)
        AND coalesce(u.last_seen_at, u.created_at) < ${quietSince}
        AND (s.last_digest_at IS NULL OR s.last_digest_at < ${lastAllowed})
        AND EXISTS (
          SELECT 1 FROM conversation_members cm
          JOIN messages m ON m.conversation_id = cm.conversation_id AND m.seq > cm.read_seq
          WHERE cm.user_id = u.id AND cm.left_at IS NULL
            AND (cm.muted_until IS NULL OR cm.muted_until <= ${now})
            AND m.sender_id IS DISTINCT FROM u.id AND m.deleted_at IS NULL AND m.type <> 'system'
            AND m.created_at < ${quietSince}
            AND m.created_at > coalesce(s.last_digest_at, '-infinity'::timestamptz)
        )
      ORDER BY u.id
      LIMIT ${limit}`.execute(this.db);
    return rows.rows;
  }

  async unreadConversations(userId: string, now: Date): Promise<DigestConversation[]> {
    const rows = await sql<DigestConversation>`
      SELECT c.id AS conversation_id, c.type, c.name, count(m.id)::int AS unread
      FROM conversation_members cm
      JOIN conversations c ON c.id = cm.conversation_id
      JOIN messages m ON m.conversation_id = cm.conversation_id AND m.seq > cm.read_seq
      WHERE cm.user_id = ${userId} AND cm.left_at IS NULL
        AND (cm.muted_until IS NULL OR cm.muted_until <= ${now})
        AND m.sender_id IS DISTINCT FROM ${userId} AND m.deleted_at IS NULL AND m.type NOT IN ('system', 'call')
      GROUP BY c.id, c.type, c.name
      ORDER BY max(m.seq) DESC
      LIMIT 20`.execute(this.db);
    return rows.rows;
  }

  /** The newest unread messages of those conversations, three each at most. */
  async latestUnread(userId: string, conversationIds: readonly string[]): Promise<DigestMessage[]> {
    if (conversationIds.length === 0) return [];
    const rows = await sql<DigestMessage>`
      SELECT x.conversation_id, x.sender_name, x.type, x.content, x.created_at FROM (
        SELECT m.conversation_id, coalesce(u.display_name, u.username) AS sender_name, m.type, m.content, m.created_at,
               row_number() OVER (PARTITION BY m.conversation_id ORDER BY m.seq DESC) AS n
        FROM conversation_members cm
        JOIN messages m ON m.conversation_id = cm.conversation_id AND m.seq > cm.read_seq
        LEFT JOIN users u ON u.id = m.sender_id
        WHERE cm.user_id = ${userId} AND cm.left_at IS NULL
          AND cm.conversation_id IN (${sql.join(conversationIds)})
          AND m.sender_id IS DISTINCT FROM ${userId} AND m.deleted_at IS NULL AND m.type NOT IN ('system', 'call')
      ) x WHERE x.n <= 3 ORDER BY x.created_at`.execute(this.db);
    return rows.rows;
  }

  /** Missed calls not yet read in-app, since the last digest. */
  async missedCalls(userId: string, since: Date | null) {
    return this.db
      .selectFrom('notifications')
      .select(['payload', 'created_at'])
      .where('user_id', '=', userId)
      .where('kind', '=', 'missed_call')
      .where('read_at', 'is', null)
      .where('created_at', '>', since ?? new Date(0))
      .orderBy('created_at')
      .limit(20)
      .execute();
  }

  /** Claims the digest slot: true when no digest went out within the interval (one instance wins). */
  async claim(userId: string, now: Date, intervalSeconds: number): Promise<boolean> {
    const lastAllowed = new Date(now.getTime() - intervalSeconds * 1000);
    const result = await sql<{ user_id: string }>`
      INSERT INTO notification_user_state (user_id, last_digest_at) VALUES (${userId}, ${now})
      ON CONFLICT (user_id) DO UPDATE SET last_digest_at = EXCLUDED.last_digest_at
      WHERE notification_user_state.last_digest_at IS NULL OR notification_user_state.last_digest_at < ${lastAllowed}
      RETURNING user_id`.execute(this.db);
    return result.rows.length > 0;
  }
}
