// SQL for friendships (one row per unordered pair). Every function takes an optional transaction; none throws HTTP errors.
import { type Kysely, sql, type Transaction } from 'kysely';
import { newId } from '../../db/ids.js';
import type { DB, UserRow } from '../../db/schema.js';

type Executor = Kysely<DB> | Transaction<DB>;

export type FriendshipStatus = 'pending' | 'accepted' | 'rejected';

export interface FriendshipRow {
  id: string;
  requester_id: string;
  receiver_id: string;
  status: FriendshipStatus;
  created_at: Date;
  updated_at: Date;
}

/** The `friendship.updated` event of a friendship or pending request that ended (unfriend, withdraw, block). */
export function friendshipRemoved(row: FriendshipRow, actorId: string) {
  return {
    friendship_id: row.id,
    requester_id: row.requester_id,
    receiver_id: row.receiver_id,
    status: 'removed' as const,
    actor_id: actorId,
    previous_status: row.status === 'accepted' ? ('accepted' as const) : ('pending' as const),
  };
}

/** A friendship or request with the other user's row, for listing. */
export interface FriendshipWithUser {
  friendship: FriendshipRow;
  user: UserRow;
}

/** Keyset position in a friendship list: most recently changed first. */
export interface FriendsCursor {
  at: string;
  id: string;
}

const FRIENDSHIP_COLUMNS = [
  'f.id as f_id',
  'f.requester_id as f_requester_id',
  'f.receiver_id as f_receiver_id',
  'f.status as f_status',
  'f.created_at as f_created_at',
  'f.updated_at as f_updated_at',
] as const;

export class FriendsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async areFriends(a: string, b: string, trx: Executor = this.db): Promise<boolean> {
    const row = await this.findBetween(a, b, trx);
    return row?.status === 'accepted';
  }

  /** Ids of everyone `userId` is friends with. */
  async friendIds(userId: string, trx: Executor = this.db): Promise<string[]> {
    const rows = await trx
      .selectFrom('friendships')
      .select(
        sql<string>`CASE WHEN requester_id = ${userId} THEN receiver_id ELSE requester_id END`.as(
          'friend_id',
        ),
      )
      .where('status', '=', 'accepted')
      .where((eb) => eb.or([eb('requester_id', '=', userId), eb('receiver_id', '=', userId)]))
      .execute();
    return rows.map((r) => r.friend_id);
  }

  /** The row of the unordered pair, whatever its status and direction. */
  findBetween(a: string, b: string, trx: Executor = this.db): Promise<FriendshipRow | undefined> {
    return trx
      .selectFrom('friendships')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb.and([eb('requester_id', '=', a), eb('receiver_id', '=', b)]),
          eb.and([eb('requester_id', '=', b), eb('receiver_id', '=', a)]),
        ]),
      )
      .executeTakeFirst() as Promise<FriendshipRow | undefined>;
  }

  findById(id: string, trx: Executor = this.db): Promise<FriendshipRow | undefined> {
    return trx.selectFrom('friendships').selectAll().where('id', '=', id).executeTakeFirst() as Promise<
      FriendshipRow | undefined
    >;
  }

  /**
   * Makes `requesterId -> receiverId` a pending request: inserts the pair's row, or turns a rejected row
   * around. Returns undefined when the pair already has a pending or accepted row (e.g. written concurrently).
   */
  async upsertPending(
    requesterId: string,
    receiverId: string,
    trx: Executor = this.db,
  ): Promise<FriendshipRow | undefined> {
    const row = await trx
      .insertInto('friendships')
      .values({ id: newId(), requester_id: requesterId, receiver_id: receiverId, status: 'pending' })
      .onConflict((oc) =>
        oc
          .expression(sql`least(requester_id, receiver_id), greatest(requester_id, receiver_id)`)
          .doUpdateSet({
            requester_id: requesterId,
            receiver_id: receiverId,
            status: 'pending',
            created_at: sql`now()`,
            updated_at: sql`now()`,
          })
          .where('friendships.status', '=', 'rejected'),
      )
      .returningAll()
      .executeTakeFirst();
    return row as FriendshipRow | undefined;
  }

  /** Sets the status, only from `from` when given; returns undefined when no row matched. */
  async setStatus(
    id: string,
    status: FriendshipStatus,
    trx: Executor = this.db,
    from?: FriendshipStatus,
  ): Promise<FriendshipRow | undefined> {
    let query = trx.updateTable('friendships').set({ status, updated_at: sql`now()` }).where('id', '=', id);
    if (from) query = query.where('status', '=', from);
    return (await query.returningAll().executeTakeFirst()) as FriendshipRow | undefined;
  }

  /** Removes the pair's row whatever its status; returns the removed row. */
  async deleteBetween(a: string, b: string, trx: Executor = this.db): Promise<FriendshipRow | undefined> {
    return (await trx
      .deleteFrom('friendships')
      .where((eb) =>
        eb.or([
          eb.and([eb('requester_id', '=', a), eb('receiver_id', '=', b)]),
          eb.and([eb('requester_id', '=', b), eb('receiver_id', '=', a)]),
        ]),
      )
      .returningAll()
      .executeTakeFirst()) as FriendshipRow | undefined;
  }

  /** Accepted friendships of `userId` with the friend's row, most recent first. */
  listFriends(userId: string, limit: number, after?: FriendsCursor, trx: Executor = this.db) {
    return this.listWith(userId, ['accepted'], limit, after, trx);
  }

  /** Pending requests sent to or by `userId`, most recent first. */
  listPending(userId: string, limit: number, after?: FriendsCursor, trx: Executor = this.db) {
    return this.listWith(userId, ['pending'], limit, after, trx);
  }

  private async listWith(
    userId: string,
    statuses: FriendshipStatus[],
    limit: number,
    after: FriendsCursor | undefined,
    trx: Executor,
  ): Promise<FriendshipWithUser[]> {
    let query = trx
      .selectFrom('friendships as f')
      .innerJoin('users as u', (join) =>
        join.on(
          'u.id',
          '=',
          sql<string>`CASE WHEN f.requester_id = ${userId} THEN f.receiver_id ELSE f.requester_id END`,
        ),
      )
      .selectAll('u')
      .select(FRIENDSHIP_COLUMNS)
      .where('f.status', 'in', statuses)
      .where((eb) => eb.or([eb('f.requester_id', '=', userId), eb('f.receiver_id', '=', userId)]));
    if (after) {
      const at = new Date(after.at);
      query = query.where((eb) =>
        eb.or([
          eb('f.updated_at', '<', at),
          eb.and([eb('f.updated_at', '=', at), eb('f.id', '<', after.id)]),
        ]),
      );
    }
    const rows = await query.orderBy('f.updated_at', 'desc').orderBy('f.id', 'desc').limit(limit).execute();
    return rows.map((row) => {
      const { f_id, f_requester_id, f_receiver_id, f_status, f_created_at, f_updated_at, ...user } = row;
      return {
        friendship: {
          id: f_id,
          requester_id: f_requester_id,
          receiver_id: f_receiver_id,
          status: f_status as FriendshipStatus,
          created_at: f_created_at,
          updated_at: f_updated_at,
        },
        user: user as UserRow,
      };
    });
  }
}
