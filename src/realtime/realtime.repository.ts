// SQL the realtime layer needs for presence: privacy settings and last seen (memberships and contacts: access).
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';

export class RealtimeRepository {
  constructor(private readonly db: Kysely<DB>) {}

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
