// SQL for user blocks. Every function takes an optional transaction; none throws HTTP errors.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { DB, UserRow } from '../../db/schema.js';

type Executor = Kysely<DB> | Transaction<DB>;

export interface BlockRow {
  blocker_id: string;
  blocked_id: string;
  created_at: Date;
}

/** A block with the blocked user's row, for listing. */
export interface BlockWithUser {
  created_at: Date;
  user: UserRow;
}

/** Keyset position in a block list: newest first. */
export interface BlocksCursor {
  created_at: string;
  user_id: string;
}

export class BlocksRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** True when either user has blocked the other. */
  async isBlockedEitherWay(userA: string, userB: string, trx: Executor = this.db): Promise<boolean> {
    const row = await trx
      .selectFrom('user_blocks')
      .select('blocker_id')
      .where((eb) =>
        eb.or([
          eb.and([eb('blocker_id', '=', userA), eb('blocked_id', '=', userB)]),
          eb.and([eb('blocker_id', '=', userB), eb('blocked_id', '=', userA)]),
        ]),
      )
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** True when `blockerId` has blocked `blockedId` (one direction only). */
  async hasBlocked(blockerId: string, blockedId: string, trx: Executor = this.db): Promise<boolean> {
    const row = await trx
      .selectFrom('user_blocks')
      .select('blocker_id')
      .where('blocker_id', '=', blockerId)
      .where('blocked_id', '=', blockedId)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Idempotent: returns the block, new or existing, and whether it was created now. */
  async block(
    blockerId: string,
    blockedId: string,
    trx: Executor = this.db,
  ): Promise<{ block: BlockRow; created: boolean }> {
    const inserted = await trx
      .insertInto('user_blocks')
      .values({ blocker_id: blockerId, blocked_id: blockedId })
      .onConflict((oc) => oc.columns(['blocker_id', 'blocked_id']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return { block: inserted, created: true };
    const existing = await trx
      .selectFrom('user_blocks')
      .selectAll()
      .where('blocker_id', '=', blockerId)
      .where('blocked_id', '=', blockedId)
      .executeTakeFirstOrThrow();
    return { block: existing, created: false };
  }

  /** Returns whether a block was removed. */
  async unblock(blockerId: string, blockedId: string, trx: Executor = this.db): Promise<boolean> {
    const result = await trx
      .deleteFrom('user_blocks')
      .where('blocker_id', '=', blockerId)
      .where('blocked_id', '=', blockedId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The people `blockerId` blocked, newest block first; fetches `limit` rows. */
  async list(
    blockerId: string,
    limit: number,
    after?: BlocksCursor,
    trx: Executor = this.db,
  ): Promise<BlockWithUser[]> {
    let query = trx
      .selectFrom('user_blocks as b')
      .innerJoin('users as u', 'u.id', 'b.blocked_id')
      .selectAll('u')
      .select(sql<Date>`b.created_at`.as('blocked_at'))
      .where('b.blocker_id', '=', blockerId);
    if (after) {
      const at = new Date(after.created_at);
      query = query.where((eb) =>
        eb.or([
          eb('b.created_at', '<', at),
          eb.and([eb('b.created_at', '=', at), eb('b.blocked_id', '<', after.user_id)]),
        ]),
      );
    }
    const rows = await query
      .orderBy('b.created_at', 'desc')
      .orderBy('b.blocked_id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(({ blocked_at, ...user }) => ({ created_at: blocked_at, user: user as UserRow }));
  }

  /** Ids of the users who blocked `userId` (to hide the caller from them, e.g. in search). */
  async blockerIdsOf(userId: string, trx: Executor = this.db): Promise<string[]> {
    const rows = await trx
      .selectFrom('user_blocks')
      .select('blocker_id')
      .where('blocked_id', '=', userId)
      .execute();
    return rows.map((r) => r.blocker_id);
  }
}
