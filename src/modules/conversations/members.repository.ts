// SQL for memberships: who is in a conversation, roles, joining and leaving, mute, and the receipt watermarks.
// Membership writes live here; reads of "current member" use the access helper (src/modules/access).
import { type Kysely, sql, type Transaction } from 'kysely';
import type { DB, MemberRow } from '../../db/schema.js';
import { currentMember } from '../access/current-member.js';

type Executor = Kysely<DB> | Transaction<DB>;

export class MembersRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Current members of several conversations, longest-standing first, in one query. */
  currentMembersOf(conversationIds: readonly string[], trx: Executor = this.db): Promise<MemberRow[]> {
    if (conversationIds.length === 0) return Promise.resolve([]);
    return trx
      .selectFrom('conversation_members')
      .selectAll()
      .where('conversation_id', 'in', [...conversationIds])
      .where(currentMember())
      .orderBy('joined_at')
      .orderBy('user_id')
      .execute();
  }

  /** Every current membership's last_seq (sync tells clients which conversations are stale). */
  async membershipSeqs(
    userId: string,
    trx: Executor = this.db,
  ): Promise<Array<{ conversation_id: string; last_seq: number }>> {
    const rows = await trx
      .selectFrom('conversation_members as cm')
      .innerJoin('conversations as c', 'c.id', 'cm.conversation_id')
      .select(['c.id as conversation_id', 'c.last_seq'])
      .where('cm.user_id', '=', userId)
      .where(currentMember('cm'))
      .execute();
    return rows.map((r) => ({ conversation_id: r.conversation_id, last_seq: Number(r.last_seq) }));
  }

  /** Current members with their watermarks and settings (receipts, read-receipt privacy). */
  membersWithSettings(conversationId: string, trx: Executor = this.db) {
    return trx
      .selectFrom('conversation_members as cm')
      .innerJoin('users as u', 'u.id', 'cm.user_id')
      .select([
        'cm.user_id',
        'cm.delivered_seq',
        'cm.read_seq',
        'cm.delivered_at',
        'cm.read_at',
        'cm.joined_at',
        'u.settings',
      ])
      .where('cm.conversation_id', '=', conversationId)
      .where(currentMember('cm'))
      .orderBy('cm.joined_at')
      .execute();
  }

  /** Adds members, or brings back ones who left (left_at cleared, role reset, joined again now). */
  async upsertMembers(
    conversationId: string,
    members: ReadonlyArray<{ user_id: string; role: 'admin' | 'member' }>,
    joinedSeq: number,
    trx: Executor = this.db,
  ): Promise<void> {
    if (members.length === 0) return;
    await trx
      .insertInto('conversation_members')
      .values(
        members.map((m) => ({
          conversation_id: conversationId,
          user_id: m.user_id,
          role: m.role,
          joined_seq: joinedSeq,
          delivered_seq: joinedSeq,
          read_seq: joinedSeq,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['conversation_id', 'user_id']).doUpdateSet((eb) => ({
          role: eb.ref('excluded.role'),
          joined_seq: eb.ref('excluded.joined_seq'),
          delivered_seq: sql<number>`GREATEST(conversation_members.delivered_seq, excluded.delivered_seq)`,
          read_seq: sql<number>`GREATEST(conversation_members.read_seq, excluded.read_seq)`,
          joined_at: sql<Date>`now()`,
          left_at: null,
          muted_until: null,
        })),
      )
      .execute();
  }

  async setRole(
    conversationId: string,
    userId: string,
    role: 'admin' | 'member',
    trx: Executor = this.db,
  ): Promise<void> {
    await trx
      .updateTable('conversation_members')
      .set({ role })
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .execute();
  }

  async markLeft(conversationId: string, userId: string, trx: Executor = this.db): Promise<void> {
    await trx
      .updateTable('conversation_members')
      .set({ left_at: sql<Date>`now()` })
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .execute();
  }

  async setMutedUntil(
    conversationId: string,
    userId: string,
    mutedUntil: Date | null,
    trx: Executor = this.db,
  ): Promise<void> {
    await trx
      .updateTable('conversation_members')
      .set({ muted_until: mutedUntil })
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .execute();
  }

  async currentMemberIds(conversationId: string, trx: Executor = this.db): Promise<string[]> {
    const rows = await trx
      .selectFrom('conversation_members')
      .select('user_id')
      .where('conversation_id', '=', conversationId)
      .where(currentMember())
      .orderBy('joined_at')
      .execute();
    return rows.map((r) => r.user_id);
  }

  /** Watermarks only move forward (GREATEST); read implies delivered. Returns the new values. */
  async raiseWatermarks(
    conversationId: string,
    userId: string,
    marks: { delivered?: number; read?: number },
    trx: Executor = this.db,
  ): Promise<{ delivered_seq: number; read_seq: number } | undefined> {
    const read = marks.read ?? 0;
    const delivered = Math.max(marks.delivered ?? 0, read);
    const row = await trx
      .updateTable('conversation_members')
      .set({
        delivered_seq: sql<number>`GREATEST(delivered_seq, ${delivered}::bigint)`,
        read_seq: sql<number>`GREATEST(read_seq, ${read}::bigint)`,
        delivered_at: sql<Date>`CASE WHEN ${delivered}::bigint > delivered_seq THEN now() ELSE delivered_at END`,
        read_at: sql<Date>`CASE WHEN ${read}::bigint > read_seq THEN now() ELSE read_at END`,
      })
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .where(currentMember())
      .returning(['delivered_seq', 'read_seq'])
      .executeTakeFirst();
    return row ? { delivered_seq: Number(row.delivered_seq), read_seq: Number(row.read_seq) } : undefined;
  }
}
