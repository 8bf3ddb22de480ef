// Stores a message as the conversation's next change: its seq is the seq of its `message.created` event row.
import type { Transaction } from 'kysely';
import { newId } from '../../db/ids.js';
import type { DB, MessageRow, MessageType } from '../../db/schema.js';
import { appendConversationEvent } from '../conversations/conversation-events.js';
import { MessagesRepository } from './messages.repository.js';

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

/** Inserts the message and its event row inside `trx`; throws DuplicateClientIdError on a client_id retry race. */
export async function appendMessage(trx: Transaction<DB>, input: AppendMessageInput): Promise<MessageRow> {
  const id = newId();
  const seq = await appendConversationEvent(trx, {
    conversation_id: input.conversation_id,
    type: 'message.created',
    actor_id: input.sender_id,
    message_id: id,
    is_message: true,
  });
  const row = await new MessagesRepository(trx).insert(
    {
      id,
      conversation_id: input.conversation_id,
      seq,
      sender_id: input.sender_id,
      client_id: input.client_id ?? null,
      type: input.type,
      content: input.content,
      metadata: input.metadata ?? {},
      reply_to_id: input.reply_to_id ?? null,
      forwarded_from_id: input.forwarded_from_id ?? null,
    },
    trx,
  );
  if (!row) throw new DuplicateClientIdError();
  return row;
}
