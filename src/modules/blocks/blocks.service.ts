// Blocking: a private list per user; blocking also ends a friendship and drops pending requests between the two.
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { NotFoundError, UnprocessableError } from '../../errors.js';
import type { EventBus } from '../../events/bus.js';
import { decodeCursor, encodeCursor } from '../../http/envelope.js';
import type { Actor } from '../../identity/actor.js';
import type { ServiceDeps } from '../conversations/conversations.service.js';
import { FriendsRepository, friendshipRemoved } from '../friends/friends.repository.js';
import { UsersRepository } from '../users/users.repository.js';
import { toUserView } from '../users/users.schemas.js';
import { type BlocksCursor, BlocksRepository } from './blocks.repository.js';
import type { BlockView } from './blocks.schemas.js';

function isBlocksCursor(v: unknown): v is BlocksCursor {
  const c = v as BlocksCursor;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof c.created_at === 'string' &&
    !Number.isNaN(Date.parse(c.created_at)) &&
    typeof c.user_id === 'string' &&
    /^[0-9a-f-]{36}$/i.test(c.user_id)
  );
}

export class BlocksService {
  private readonly db: Kysely<DB>;
  private readonly bus: EventBus;
  private readonly blocks: BlocksRepository;
  private readonly friends: FriendsRepository;
  private readonly users: UsersRepository;

  constructor(deps: ServiceDeps) {
    this.db = deps.db;
    this.bus = deps.bus;
    this.blocks = new BlocksRepository(deps.db);
    this.friends = new FriendsRepository(deps.db);
    this.users = new UsersRepository(deps.db);
  }

  async list(
    actor: Actor,
    limit: number,
    cursor?: string,
  ): Promise<{ items: BlockView[]; nextCursor: string | null }> {
    const after = decodeCursor(cursor, isBlocksCursor);
    const rows = await this.blocks.list(actor.userId, limit + 1, after);
    const pageRows = rows.slice(0, limit);
    const last = pageRows.at(-1);
    const nextCursor =
      rows.length > limit && last
        ? encodeCursor({ created_at: last.created_at.toISOString(), user_id: last.user.id })
        : null;
    return {
      items: pageRows.map((r) => ({ user: toUserView(r.user), created_at: r.created_at.toISOString() })),
      nextCursor,
    };
  }

  /** Idempotent. Ends a friendship and removes pending requests between the two users. */
  async block(actor: Actor, userId: string): Promise<BlockView> {
    if (userId === actor.userId)
      throw new UnprocessableError('You cannot block yourself', 'cannot_block_self');
    const user = await this.users.findById(userId);
    if (!user) throw new NotFoundError('User');
    const { block, created, removed } = await this.db.transaction().execute(async (trx) => {
      const result = await this.blocks.block(actor.userId, userId, trx);
      const removedFriendship = await this.friends.deleteBetween(actor.userId, userId, trx);
      return { ...result, removed: removedFriendship };
    });
    if (removed && removed.status !== 'rejected') {
      this.bus.publish('friendship.updated', friendshipRemoved(removed, actor.userId));
    }
    if (created)
      this.bus.publish('user.blocked', { blocker_id: actor.userId, blocked_id: userId, blocked: true });
    return { user: toUserView(user), created_at: block.created_at.toISOString() };
  }

  /** Idempotent: unblocking someone who is not blocked succeeds; an unknown user is 404. */
  async unblock(actor: Actor, userId: string): Promise<{ user_id: string; blocked: false }> {
    if (userId === actor.userId)
      throw new UnprocessableError('You cannot block yourself', 'cannot_block_self');
    const user = await this.users.findById(userId);
    if (!user) throw new NotFoundError('User');
    const removed = await this.blocks.unblock(actor.userId, userId);
    if (removed)
      this.bus.publish('user.blocked', { blocker_id: actor.userId, blocked_id: userId, blocked: false });
    return { user_id: userId, blocked: false };
  }
}
