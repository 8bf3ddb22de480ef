// SQL for polls, their options and votes.
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { DB, PollsTable } from '../../db/schema.js';

type Executor = Kysely<DB> | Transaction<DB>;
export type PollRow = Selectable<PollsTable>;

export interface OptionCount {
  id: string;
  text: string;
  position: number;
  count: number;
}

export class PollsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  findById(id: string, trx: Executor = this.db): Promise<PollRow | undefined> {
    return trx.selectFrom('polls').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByMessageId(messageId: string, trx: Executor = this.db): Promise<PollRow | undefined> {
    return trx.selectFrom('polls').selectAll().where('message_id', '=', messageId).executeTakeFirst();
  }

  /** Locks the poll: votes on one poll are applied one after another, so counts stay exact. */
  lockById(id: string, trx: Transaction<DB>): Promise<PollRow | undefined> {
    return trx.selectFrom('polls').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  }

  async insert(
    poll: Omit<PollRow, 'created_at' | 'closed_at'>,
    options: string[],
    ids: string[],
    trx: Executor = this.db,
  ): Promise<void> {
    await trx.insertInto('polls').values(poll).execute();
    await trx
      .insertInto('poll_options')
      .values(options.map((text, i) => ({ id: ids[i] as string, poll_id: poll.id, text, position: i })))
      .execute();
  }

  async optionCounts(pollId: string, trx: Executor = this.db): Promise<OptionCount[]> {
    const rows = await trx
      .selectFrom('poll_options as o')
      .leftJoin('poll_votes as v', 'v.option_id', 'o.id')
      .select(['o.id', 'o.text', 'o.position'])
      .select((eb) => eb.fn.count<number>('v.user_id').as('count'))
      .where('o.poll_id', '=', pollId)
      .groupBy(['o.id', 'o.text', 'o.position'])
      .orderBy('o.position')
      .execute();
    return rows.map((r) => ({ ...r, count: Number(r.count) }));
  }

  votes(pollId: string, trx: Executor = this.db): Promise<Array<{ option_id: string; user_id: string }>> {
    return trx
      .selectFrom('poll_votes')
      .select(['option_id', 'user_id'])
      .where('poll_id', '=', pollId)
      .orderBy('created_at')
      .orderBy('user_id')
      .execute();
  }

  async myOptionIds(pollId: string, userId: string, trx: Executor = this.db): Promise<string[]> {
    const rows = await trx
      .selectFrom('poll_votes')
      .select('option_id')
      .where('poll_id', '=', pollId)
      .where('user_id', '=', userId)
      .execute();
    return rows.map((r) => r.option_id);
  }

  async optionIdsOf(pollId: string, trx: Executor = this.db): Promise<string[]> {
    const rows = await trx.selectFrom('poll_options').select('id').where('poll_id', '=', pollId).execute();
    return rows.map((r) => r.id);
  }

  async replaceVotes(
    pollId: string,
    userId: string,
    optionIds: string[],
    trx: Executor = this.db,
  ): Promise<void> {
    await trx.deleteFrom('poll_votes').where('poll_id', '=', pollId).where('user_id', '=', userId).execute();
    if (optionIds.length === 0) return;
    await trx
      .insertInto('poll_votes')
      .values(optionIds.map((option_id) => ({ poll_id: pollId, option_id, user_id: userId })))
      .execute();
  }

  async close(pollId: string, trx: Executor = this.db): Promise<void> {
    await trx.updateTable('polls').set({ closed_at: new Date() }).where('id', '=', pollId).execute();
  }
}
