// SQL for calls and their participants: locking a call for a state change, liveness (last_seen_at), history.
import { type Insertable, type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { CallParticipantsTable, CallsTable, DB } from '../../db/schema.js';
import { currentMember } from '../access/current-member.js';

type Executor = Kysely<DB> | Transaction<DB>;
export type CallRow = Selectable<CallsTable>;
export type ParticipantRow = Selectable<CallParticipantsTable>;
export type CallWithType = CallRow & { conversation_type: string };
export interface HistoryCursor {
  started_at: string;
  id: string;
}

const LIVE = ['ringing', 'active'] as const;

export class CallsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The call with its conversation's type; `lock` takes the row lock that orders state changes. */
  async find(id: string, trx: Executor = this.db, lock = false): Promise<CallWithType | undefined> {
    let query = trx
      .selectFrom('calls')
      .innerJoin('conversations as c', 'c.id', 'calls.conversation_id')
      .selectAll('calls')
      .select('c.type as conversation_type')
      .where('calls.id', '=', id);
    if (lock) query = query.forUpdate('calls');
    return query.executeTakeFirst();
  }

  participants(callIds: readonly string[], trx: Executor = this.db): Promise<ParticipantRow[]> {
    if (callIds.length === 0) return Promise.resolve([]);
    return trx
      .selectFrom('call_participants')
      .selectAll()
      .where('call_id', 'in', [...callIds])
      .orderBy('invited_at')
      .orderBy('user_id')
      .execute();
  }

  /** The call and its participants in one statement. */
  async insert(
    call: Insertable<CallsTable>,
    participants: Array<Insertable<CallParticipantsTable>>,
    trx: Transaction<DB>,
  ): Promise<void> {
    if (participants.length === 0) {
      await trx.insertInto('calls').values(call).execute();
      return;
    }
    await trx
      .with('inserted_call', (db) => db.insertInto('calls').values(call).returning('id'))
      .insertInto('call_participants')
      .values(participants)
      .execute();
  }

  async update(id: string, patch: Partial<Insertable<CallsTable>>, trx: Executor): Promise<void> {
    await trx.updateTable('calls').set(patch).where('id', '=', id).execute();
  }

  async updateParticipant(
    callId: string,
    userId: string,
    patch: Partial<Insertable<CallParticipantsTable>>,
    trx: Executor,
  ): Promise<void> {
    await trx
      .updateTable('call_participants')
      .set(patch)
      .where('call_id', '=', callId)
      .where('user_id', '=', userId)
      .execute();
  }

  /** Moves every participant of the call in one of `from` statuses; returns their user ids. */
  async moveParticipants(
    callId: string,
    from: ReadonlyArray<ParticipantRow['status']>,
    patch: Partial<Insertable<CallParticipantsTable>>,
    trx: Executor,
  ): Promise<string[]> {
    const rows = await trx
      .updateTable('call_participants')
      .set(patch)
      .where('call_id', '=', callId)
      .where('status', 'in', [...from])
      .returning('user_id')
      .execute();
    return rows.map((r) => r.user_id);
  }

  /** The live call the user has joined (other than `except`), if any: they are busy. */
  async joinedLiveCall(userId: string, except: string | null, trx: Executor = this.db) {
    let query = trx
      .selectFrom('call_participants as p')
      .innerJoin('calls', 'calls.id', 'p.call_id')
      .select('calls.id')
      .where('p.user_id', '=', userId)
      .where('p.status', '=', 'joined')
      .where('calls.status', 'in', [...LIVE]);
    if (except) query = query.where('calls.id', '<>', except);
    return (await query.executeTakeFirst())?.id;
  }

  /**
   * What starting a call needs to know, in one statement: the live call the caller has joined, the live call of
   * the conversation, the live call the DM peer has joined, and the other current members.
   */
  async startChecks(
    userId: string,
    conversationId: string,
    peerId: string | null,
  ): Promise<{ mine: string | null; live: string | null; peer: string | null; others: string[] }> {
    const joined = (who: string | null) => sql<string | null>`(
      SELECT c.id FROM call_participants p JOIN calls c ON c.id = p.call_id
       WHERE p.user_id = ${who} AND p.status = 'joined' AND c.status IN ('ringing', 'active') LIMIT 1)`;
    const { rows } = await sql<{
      mine: string | null;
      live: string | null;
      peer: string | null;
      others: string[];
    }>`
      SELECT ${joined(userId)} AS mine,
             (SELECT id FROM calls WHERE conversation_id = ${conversationId}
                 AND status IN ('ringing', 'active') LIMIT 1) AS live,
             ${peerId ? joined(peerId) : sql`NULL::text`} AS peer,
             ARRAY(SELECT cm.user_id::text FROM conversation_members cm
                    WHERE cm.conversation_id = ${conversationId} AND cm.user_id <> ${userId}
                      AND ${currentMember('cm')}
                    ORDER BY cm.user_id) AS others`.execute(this.db);
    const row = rows[0] as {
      mine: string | null;
      live: string | null;
      peer: string | null;
      others: string[];
    };
    return row;
  }

  async liveCallIn(conversationId: string, trx: Executor = this.db): Promise<string | undefined> {
    const row = await trx
      .selectFrom('calls')
      .select('id')
      .where('conversation_id', '=', conversationId)
      .where('status', 'in', [...LIVE])
      .executeTakeFirst();
    return row?.id;
  }

  async currentMemberIds(conversationId: string, trx: Executor = this.db): Promise<string[]> {
    const rows = await trx
      .selectFrom('conversation_members as cm')
      .select('cm.user_id')
      .where('cm.conversation_id', '=', conversationId)
      .where(currentMember('cm'))
      .execute();
    return rows.map((r) => r.user_id);
  }

  /** Calls the user took part in (was rung or joined), newest first. */
  history(
    userId: string,
    conversationId: string | undefined,
    after: HistoryCursor | undefined,
    limit: number,
  ) {
    let query = this.db
      .selectFrom('calls')
      .innerJoin('call_participants as p', (join) =>
        join.onRef('p.call_id', '=', 'calls.id').on('p.user_id', '=', userId),
      )
      .innerJoin('conversations as c', 'c.id', 'calls.conversation_id')
      .selectAll('calls')
      .select('c.type as conversation_type');
    if (conversationId) query = query.where('calls.conversation_id', '=', conversationId);
    if (after) {
      query = query.where((eb) =>
        eb(
          eb.refTuple('calls.started_at', 'calls.id'),
          '<',
          eb.tuple(new Date(after.started_at) as unknown as Date, after.id),
        ),
      );
    }
    return query.orderBy('calls.started_at', 'desc').orderBy('calls.id', 'desc').limit(limit).execute();
  }

  /** Whether the user is, or was, a participant of the call, or is a current member of its conversation. */
  async canSee(call: CallRow, userId: string): Promise<boolean> {
    const row = await sql<{ ok: boolean }>`
      SELECT EXISTS (SELECT 1 FROM call_participants WHERE call_id = ${call.id} AND user_id = ${userId})
          OR EXISTS (SELECT 1 FROM conversation_members cm WHERE cm.conversation_id = ${call.conversation_id}
                      AND cm.user_id = ${userId} AND ${currentMember('cm')}) AS ok`.execute(this.db);
    return row.rows[0]?.ok === true;
  }

  /** Liveness: these users have a /calls socket now; returns the live calls they have joined. */
  async touch(
    userIds: readonly string[],
    trx: Executor = this.db,
  ): Promise<Array<{ call_id: string; user_id: string }>> {
    if (userIds.length === 0) return [];
    return trx
      .updateTable('call_participants as p')
      .set({ last_seen_at: sql<Date>`now()` })
      .from('calls')
      .whereRef('calls.id', '=', 'p.call_id')
      .where('calls.status', 'in', [...LIVE])
      .where('p.status', '=', 'joined')
      .where('p.user_id', 'in', [...userIds])
      .returning(['p.call_id', 'p.user_id'])
      .execute();
  }

  /** Joined participants of live calls not seen since `before` (their sockets are gone). */
  stale(before: Date, callId?: string, userId?: string) {
    let query = this.db
      .selectFrom('call_participants as p')
      .innerJoin('calls', 'calls.id', 'p.call_id')
      .select(['p.call_id', 'p.user_id'])
      .where('calls.status', 'in', [...LIVE])
      .where('p.status', '=', 'joined')
      .where('p.last_seen_at', '<', before);
    if (callId) query = query.where('p.call_id', '=', callId);
    if (userId) query = query.where('p.user_id', '=', userId);
    return query.limit(500).execute();
  }

  /** Ringing calls started before `before` (their ring-timeout job was lost), and active calls nobody is in. */
  async abandoned(ringingBefore: Date): Promise<string[]> {
    const rows = await this.db
      .selectFrom('calls')
      .select('id')
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'ringing'), eb('started_at', '<', ringingBefore)]),
          eb.and([
            eb('status', '=', 'active'),
            eb.not(
              eb.exists(
                eb
                  .selectFrom('call_participants as p')
                  .select(sql`1`.as('one'))
                  .whereRef('p.call_id', '=', 'calls.id')
                  .where('p.status', '=', 'joined'),
              ),
            ),
          ]),
        ]),
      )
      .limit(500)
      .execute();
    return rows.map((r) => r.id);
  }
}
