// The per-conversation ordered log: every change takes the next seq and writes its event row in the caller's transaction.
import { sql, type Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';

export interface AppendEventInput {
  conversation_id: string;
  /** e.g. message.created, member.added, reaction.added */
  type: string;
  actor_id: string | null;
  message_id?: string | null;
  payload?: Record<string, unknown>;
  /** A message was stored: also moves last_message_at (the conversation's activity time). */
  is_message?: boolean;
}

/**
 * Takes the conversation's next seq (the UPDATE ... RETURNING row lock orders concurrent writers, so seqs are
 * gap-free and commit in order) and inserts the event row with it. Returns the new seq.
 */
export async function appendConversationEvent(
  trx: Transaction<DB>,
  input: AppendEventInput,
): Promise<number> {
  const row = await trx
    .updateTable('conversations')
    .set((eb) => ({
      last_seq: eb('last_seq', '+', 1),
      ...(input.is_message ? { last_message_at: sql<Date>`GREATEST(last_message_at, now())` } : {}),
    }))
    .where('id', '=', input.conversation_id)
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  const seq = Number(row.last_seq);
  await trx
    .insertInto('conversation_events')
    .values({
      conversation_id: input.conversation_id,
      seq,
      type: input.type,
      actor_id: input.actor_id,
      message_id: input.message_id ?? null,
      payload: JSON.stringify(input.payload ?? {}),
    })
    .execute();
  return seq;
}
