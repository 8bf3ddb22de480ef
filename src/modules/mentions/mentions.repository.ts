// SQL for mentions: resolve usernames among a conversation's current members; write metadata.mentions.
import { sql, type Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import { currentMember } from '../access/current-member.js';

export class MentionsRepository {
  async messageContext(messageId: string, trx: Transaction<DB>) {
    return trx
      .selectFrom('messages as m')
      .innerJoin('conversations as c', 'c.id', 'm.conversation_id')
      .leftJoin('conversation_members as cm', (join) =>
        join.onRef('cm.conversation_id', '=', 'm.conversation_id').onRef('cm.user_id', '=', 'm.sender_id'),
      )
      .select(['m.sender_id', 'm.conversation_id', 'c.type as conversation_type', 'cm.role as sender_role'])
      .where('m.id', '=', messageId)
      .executeTakeFirst();
  }

  /** Ids of current members whose username is one of `usernames` (lower-case), in no particular order. */
  async memberIdsByUsername(
    conversationId: string,
    usernames: string[],
    trx: Transaction<DB>,
  ): Promise<Array<{ id: string; username: string }>> {
    if (usernames.length === 0) return [];
    return trx
      .selectFrom('conversation_members as cm')
      .innerJoin('users as u', 'u.id', 'cm.user_id')
      .select(['u.id', sql<string>`lower(u.username)`.as('username')])
      .where('cm.conversation_id', '=', conversationId)
      .where(currentMember('cm'))
      .where(sql<string>`lower(u.username)`, 'in', usernames)
      .execute();
  }

  /** Replaces metadata.mentions / metadata.mention_all (whatever the client sent) with the resolved ones. */
  async setMentions(
    messageId: string,
    mentions: { mentions?: string[]; mention_all?: boolean },
    trx: Transaction<DB>,
  ): Promise<void> {
    await trx
      .updateTable('messages')
      .set({
        metadata: sql`(metadata - 'mentions' - 'mention_all') || ${JSON.stringify(mentions)}::jsonb`,
      })
      .where('id', '=', messageId)
      .execute();
  }
}
