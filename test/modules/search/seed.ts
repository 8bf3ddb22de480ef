// Seeds conversations, members and messages straight into the database for search tests.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { newId } from '../../../src/db/ids.js';
import type { MessageType } from '../../../src/db/schema.js';

export interface SeedMember {
  userId: string;
  role?: 'admin' | 'member';
  joinedSeq?: number;
  left?: boolean;
}

export async function seedConversation(
  app: FastifyInstance,
  input: { type?: 'dm' | 'group'; name?: string; members: SeedMember[] },
): Promise<string> {
  const id = newId();
  const type = input.type ?? 'group';
  const ids = input.members.map((m) => m.userId).sort();
  await app.tma.db
    .insertInto('conversations')
    .values({
      id,
      type,
      name: type === 'group' ? (input.name ?? 'Group') : null,
      dm_key: type === 'dm' ? `dm:${ids[0]}:${ids[1]}` : null,
      created_by: input.members[0]?.userId ?? null,
    })
    .execute();
  await app.tma.db
    .insertInto('conversation_members')
    .values(
      input.members.map((m) => ({
        conversation_id: id,
        user_id: m.userId,
        role: m.role ?? 'member',
        joined_seq: m.joinedSeq ?? 0,
        left_at: m.left ? new Date() : null,
      })),
    )
    .execute();
  return id;
}

export async function seedMessage(
  app: FastifyInstance,
  conversationId: string,
  senderId: string,
  content: string,
  options: { type?: MessageType; deleted?: boolean; createdAt?: Date } = {},
): Promise<{ id: string; seq: number }> {
  const { last_seq: seq } = await app.tma.db
    .updateTable('conversations')
    .set({ last_seq: sql`last_seq + 1`, last_message_at: sql`now()` })
    .where('id', '=', conversationId)
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  const id = newId();
  await app.tma.db
    .insertInto('messages')
    .values({
      id,
      conversation_id: conversationId,
      seq,
      sender_id: senderId,
      type: options.type ?? 'text',
      content,
      metadata: '{}',
      deleted_at: options.deleted ? new Date() : null,
      ...(options.createdAt ? { created_at: options.createdAt } : {}),
    })
    .execute();
  return { id, seq: Number(seq) };
}
