// SQL the realtime layer needs on connect and for presence: memberships, contacts, privacy, last seen.
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';

export class RealtimeRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Conversations the user is a current member of (joined as rooms on connect). */
  async membershipIds(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('conversation_members')
      .select('conversation_id')
      .where('user_id', '=', userId)
      .where('left_at', 'is', null)
      .execute();
    return rows.map((r) => r.conversation_id);
  }

  async isMember(userId: string, conversationId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('conversation_members')
      .select('user_id')
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .where('left_at', 'is', null)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** People who may see this user's presence: current co-members of any conversation, and accepted friends. */
  async contactIds(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('conversation_members as mine')
      .innerJoin('conversation_members as other', 'other.conversation_id', 'mine.conversation_id')
      .select('other.user_id as id')
      .where('mine.user_id', '=', userId)
      .where('mine.left_at', 'is', null)
      .where('other.left_at', 'is', null)
      .where('other.user_id', '<>', userId)
      .union((eb) =>
        eb
          .selectFrom('friendships')
          .select((f) =>
            f
              .case()
              .when('requester_id', '=', userId)
              .then(f.ref('receiver_id'))
              .else(f.ref('requester_id'))
              .end()
              .as('id'),
          )
          .where('status', '=', 'accepted')
          .where((f) => f.or([f('requester_id', '=', userId), f('receiver_id', '=', userId)])),
      )
      .execute();
    return rows.map((r) => r.id);
  }

  /** The subset of `others` who are contacts of `userId` (share a conversation or are friends). */
  async contactsAmong(userId: string, others: readonly string[]): Promise<Set<string>> {
    if (others.length === 0) return new Set();
    const contacts = new Set(await this.contactIds(userId));
    return new Set(others.filter((id) => contacts.has(id)));
  }

  async presenceProfiles(
    userIds: readonly string[],
  ): Promise<Array<{ id: string; settings: Record<string, unknown>; last_seen_at: Date | null }>> {
    if (userIds.length === 0) return [];
    return this.db
      .selectFrom('users')
      .select(['id', 'settings', 'last_seen_at'])
      .where('id', 'in', [...userIds])
      .execute();
  }

  async touchLastSeen(userId: string, at: Date): Promise<void> {
    await this.db.updateTable('users').set({ last_seen_at: at }).where('id', '=', userId).execute();
  }
}
