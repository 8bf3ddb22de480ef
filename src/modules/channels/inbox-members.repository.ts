// SQL of inbox membership changes: the locked inbox, its members, and the external conversations it owns.
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { InboxRow } from './channels.repository.js';

type Executor = Kysely<DB> | Transaction<DB>;

export class InboxMembersRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The inbox, locked against concurrent membership changes and new threads (which take it FOR SHARE). */
  lockInbox(trx: Transaction<DB>, inboxId: string): Promise<InboxRow | undefined> {
    return trx
      .selectFrom('channel_inboxes')
      .selectAll()
      .where('id', '=', inboxId)
      .forUpdate()
      .executeTakeFirst();
  }

  /** Every member id, deactivated users included, oldest first. */
  async memberIds(inboxId: string, trx: Executor = this.db): Promise<string[]> {
    const rows = await trx
      .selectFrom('channel_inbox_members')
      .select('user_id')
      .where('inbox_id', '=', inboxId)
      .orderBy('added_at')
      .orderBy('user_id')
      .execute();
    return rows.map((r) => r.user_id);
  }

  async addMembers(trx: Transaction<DB>, inboxId: string, userIds: readonly string[]): Promise<void> {
    if (userIds.length === 0) return;
    await trx
      .insertInto('channel_inbox_members')
      .values(userIds.map((user_id) => ({ inbox_id: inboxId, user_id })))
      .onConflict((oc) => oc.columns(['inbox_id', 'user_id']).doNothing())
      .execute();
  }

  async removeMember(trx: Transaction<DB>, inboxId: string, userId: string): Promise<void> {
    await trx
      .deleteFrom('channel_inbox_members')
      .where('inbox_id', '=', inboxId)
      .where('user_id', '=', userId)
      .execute();
  }

  /** The inbox's external conversations, oldest first (a fixed order: concurrent changes lock them alike). */
  async conversationIds(trx: Transaction<DB>, inboxId: string): Promise<string[]> {
    const rows = await trx
      .selectFrom('external_conversations')
      .select('conversation_id')
      .where('inbox_id', '=', inboxId)
      .orderBy('conversation_id')
      .execute();
    return rows.map((r) => r.conversation_id);
  }
}
