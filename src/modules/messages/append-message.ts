// Stores a message as the conversation's next change: its seq is the seq of its `message.created` event row.
import { sql, type Transaction } from 'kysely';
import { newId } from '../../db/ids.js';
import type { DB, MessageRow, MessageType } from '../../db/schema.js';

export interface AppendMessageInput {
  conversation_id: string;
  sender_id: string | null;
  type: MessageType;
  content: string | null;
  metadata?: Record<string, unknown>;
  client_id?: string | null;
  reply_to_id?: string | null;
  forwarded_from_id?: string | null;
}

/** Thrown inside the transaction when (sender_id, client_id) already exists, so the taken seq is rolled back. */
export class DuplicateClientIdError extends Error {
  constructor() {
    super('duplicate client_id');
    this.name = 'DuplicateClientIdError';
  }
}

/**
 * Takes the conversation's next seq, inserts the message and its `message.created` event row in ONE statement
 * (data-modifying CTEs), so the conversation row lock is held for a single round trip before COMMIT.
 * Throws DuplicateClientIdError on a client_id retry race (the caller's transaction then rolls the seq back).
 */
export async function appendMessage(trx: Transaction<DB>, input: AppendMessageInput): Promise<MessageRow> {
  const id = newId();
  const result = await sql<MessageRow>`
    WITH next AS (
      UPDATE conversations
         SET last_seq = last_seq + 1, last_message_at = GREATEST(last_message_at, now())
       WHERE id = ${input.conversation_id}
      RETURNING last_seq
    ), message AS (
      INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, type, content, metadata,
                            reply_to_id, forwarded_from_id)
      SELECT ${id}::uuid, ${input.conversation_id}::uuid, next.last_seq, ${input.sender_id}::uuid,
             ${input.client_id ?? null}::uuid, ${input.type}::text, ${input.content}::text,
             ${JSON.stringify(input.metadata ?? {})}::jsonb, ${input.reply_to_id ?? null}::uuid,
             ${input.forwarded_from_id ?? null}::uuid
        FROM next
      ON CONFLICT (sender_id, client_id) DO NOTHING
      RETURNING id, conversation_id, seq, sender_id, client_id, type, content, metadata, reply_to_id,
                forwarded_from_id, created_at, edited_at, deleted_at
    ), event AS (
      INSERT INTO conversation_events (conversation_id, seq, type, actor_id, message_id, payload)
      SELECT conversation_id, seq, 'message.created', sender_id, id, '{}'::jsonb FROM message
    )
    SELECT * FROM message`.execute(trx);
  const row = result.rows[0];
  if (!row) {
    // Either the conversation vanished (no seq taken) or the client_id already exists.
    const exists = await trx
      .selectFrom('conversations')
      .select('id')
      .where('id', '=', input.conversation_id)
      .executeTakeFirst();
    if (!exists) throw new Error(`conversation ${input.conversation_id} does not exist`);
    throw new DuplicateClientIdError();
  }
  return row;
}
