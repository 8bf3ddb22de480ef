// SQL for reactions: one row per (message, user, emoji).
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';

type Executor = Kysely<DB> | Transaction<DB>;

export class ReactionsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Locks the message row so concurrent reactions on it are counted one after another. */
  async lockMessage(messageId: string, trx: Transaction<DB>) {
    return trx
      .selectFrom('messages')
      .select(['id', 'conversation_id', 'deleted_at'])
      .where('id', '=', messageId)
      .forUpdate()
      .executeTakeFirst();
  }

  async exists(messageId: string, userId: string, emoji: string, trx: Executor = this.db): Promise<boolean> {
    const row = await trx
      .selectFrom('message_reactions')
      .select('emoji')
      .where('message_id', '=', messageId)
      .where('user_id', '=', userId)
      .where('emoji', '=', emoji)
      .executeTakeFirst();
    return row !== undefined;
  }

  async distinctEmoji(messageId: string, trx: Executor = this.db): Promise<string[]> {
    const rows = await trx
      .selectFrom('message_reactions')
      .select('emoji')
      .distinct()
      .where('message_id', '=', messageId)
      .execute();
    return rows.map((r) => r.emoji);
  }

  async insert(messageId: string, userId: string, emoji: string, trx: Executor = this.db): Promise<void> {
    await trx
      .insertInto('message_reactions')
      .values({ message_id: messageId, user_id: userId, emoji })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async delete(messageId: string, userId: string, emoji: string, trx: Executor = this.db): Promise<boolean> {
    const result = await trx
      .deleteFrom('message_reactions')
      .where('message_id', '=', messageId)
      .where('user_id', '=', userId)
      .where('emoji', '=', emoji)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
