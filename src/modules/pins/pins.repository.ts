// SQL for pinned messages (message_pins).
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';

type Executor = Kysely<DB> | Transaction<DB>;

export interface PinRow {
  message_id: string;
  pinned_by: string | null;
  pinned_at: Date;
}

export class PinsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Locks the conversation row: pins of one conversation are counted and changed one at a time. */
  async lockConversation(conversationId: string, trx: Transaction<DB>): Promise<void> {
    await trx.selectFrom('conversations').select('id').where('id', '=', conversationId).forUpdate().execute();
  }

  async find(
    conversationId: string,
    messageId: string,
    trx: Executor = this.db,
  ): Promise<PinRow | undefined> {
    return trx
      .selectFrom('message_pins')
      .select(['message_id', 'pinned_by', 'pinned_at'])
      .where('conversation_id', '=', conversationId)
      .where('message_id', '=', messageId)
      .executeTakeFirst();
  }

  async count(conversationId: string, trx: Executor = this.db): Promise<number> {
    const row = await trx
      .selectFrom('message_pins')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('conversation_id', '=', conversationId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insert(
    conversationId: string,
    messageId: string,
    userId: string,
    trx: Executor = this.db,
  ): Promise<void> {
    await trx
      .insertInto('message_pins')
      .values({ conversation_id: conversationId, message_id: messageId, pinned_by: userId })
      .execute();
  }

  async delete(conversationId: string, messageId: string, trx: Executor = this.db): Promise<boolean> {
    const result = await trx
      .deleteFrom('message_pins')
      .where('conversation_id', '=', conversationId)
      .where('message_id', '=', messageId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Pins of live (not deleted) messages, most recently pinned first. */
  list(conversationId: string, trx: Executor = this.db): Promise<PinRow[]> {
    return trx
      .selectFrom('message_pins as p')
      .innerJoin('messages as m', 'm.id', 'p.message_id')
      .select(['p.message_id', 'p.pinned_by', 'p.pinned_at'])
      .where('p.conversation_id', '=', conversationId)
      .where('m.deleted_at', 'is', null)
      .orderBy('p.pinned_at', 'desc')
      .orderBy('p.message_id', 'desc')
      .execute();
  }
}
