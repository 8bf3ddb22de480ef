// SQL for the conversation event log: reading after a seq, the oldest retained seq, and retention pruning.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { ConversationEventRow, DB } from '../../db/schema.js';

type Executor = Kysely<DB> | Transaction<DB>;

export class SyncRepository {
  constructor(private readonly db: Kysely<DB>) {}

  eventsAfter(
    conversationId: string,
    afterSeq: number,
    limit: number,
    trx: Executor = this.db,
  ): Promise<ConversationEventRow[]> {
    return trx
      .selectFrom('conversation_events')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .where('seq', '>', afterSeq)
      .orderBy('seq', 'asc')
      .limit(limit)
      .execute();
  }

  /** The smallest seq still stored for the conversation, or null when none is. */
  async oldestSeq(conversationId: string, trx: Executor = this.db): Promise<number | null> {
    const row = await trx
      .selectFrom('conversation_events')
      .select((eb) => eb.fn.min<number | null>('seq').as('seq'))
      .where('conversation_id', '=', conversationId)
      .executeTakeFirst();
    return row?.seq === null || row?.seq === undefined ? null : Number(row.seq);
  }

  /** Deletes events older than the retention; returns how many went. */
  async pruneOlderThanDate(before: Date, trx: Executor = this.db): Promise<number> {
    const result = await trx
      .deleteFrom('conversation_events')
      .where('created_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async pruneOlderThan(days: number, trx: Executor = this.db): Promise<number> {
    const result = await trx
      .deleteFrom('conversation_events')
      .where('created_at', '<', sql<Date>`now() - make_interval(days => ${days})`)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
