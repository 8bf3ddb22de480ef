// Stores a message as the conversation's next change: its seq is the seq of its `message.created` event row.
// The SQL is the send's own (MessagesRepository.append); modules that write system, poll or call messages use this.
import type { Transaction } from 'kysely';
import type { DB, MessageRow } from '../../db/schema.js';
import { type AppendMessageInput, MessagesRepository } from './messages.repository.js';

export { type AppendMessageInput, DuplicateClientIdError } from './messages.repository.js';

/** Appends inside the caller's transaction; throws DuplicateClientIdError on a client_id race. */
export function appendMessage(trx: Transaction<DB>, input: AppendMessageInput): Promise<MessageRow> {
  return new MessagesRepository(trx).append(input, trx);
}
