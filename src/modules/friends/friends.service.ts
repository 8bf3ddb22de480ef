// Friends: requests by username or id, accept/reject by the receiver, lists, removal. One row per pair of users.
import type { Kysely } from 'kysely';
import type { DB, UserRow } from '../../db/schema.js';
import { ConflictError, ForbiddenError, NotFoundError, UnprocessableError } from '../../errors.js';
import type { EventBus } from '../../events/bus.js';
import { decodeCursor, encodeCursor } from '../../http/envelope.js';
import type { Actor } from '../../identity/actor.js';
import { BlocksRepository } from '../blocks/blocks.repository.js';
import type { ServiceDeps } from '../conversations/conversations.service.js';
import { UsersRepository } from '../users/users.repository.js';
import { toUserView } from '../users/users.schemas.js';
import {
  type FriendsCursor,
  type FriendshipRow,
  type FriendshipWithUser,
  FriendsRepository,
  friendshipRemoved,
} from './friends.repository.js';
import type { FriendRequestView, FriendView, SendFriendRequestBody } from './friends.schemas.js';

function isFriendsCursor(v: unknown): v is FriendsCursor {
  const c = v as FriendsCursor;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof c.at === 'string' &&
    !Number.isNaN(Date.parse(c.at)) &&
    typeof c.id === 'string' &&
    /^[0-9a-f-]{36}$/i.test(c.id)
  );
}

function nextCursorOf(rows: FriendshipWithUser[], limit: number): string | null {
  const last = rows[limit - 1];
  if (rows.length <= limit || !last) return null;
  return encodeCursor({ at: last.friendship.updated_at.toISOString(), id: last.friendship.id });
}

export function toRequestView(
  viewerId: string,
  friendship: FriendshipRow,
  other: UserRow,
): FriendRequestView {
  return {
    id: friendship.id,
    status: friendship.status,
    direction: friendship.receiver_id === viewerId ? 'incoming' : 'outgoing',
    user: toUserView(other),
    created_at: friendship.created_at.toISOString(),
    updated_at: friendship.updated_at.toISOString(),
  };
}

export class FriendsService {
  private readonly db: Kysely<DB>;
  private readonly bus: EventBus;
  private readonly friends: FriendsRepository;
  private readonly blocks: BlocksRepository;
  private readonly users: UsersRepository;

  constructor(deps: ServiceDeps) {
    this.db = deps.db;
    this.bus = deps.bus;
    this.friends = new FriendsRepository(deps.db);
    this.blocks = new BlocksRepository(deps.db);
    this.users = new UsersRepository(deps.db);
  }

  async listFriends(actor: Actor, limit: number, cursor?: string) {
    const rows = await this.friends.listFriends(
      actor.userId,
      limit + 1,
      decodeCursor(cursor, isFriendsCursor),
    );
    const items: FriendView[] = rows
      .slice(0, limit)
      .map((r) => ({ user: toUserView(r.user), since: r.friendship.updated_at.toISOString() }));
    return { items, nextCursor: nextCursorOf(rows, limit) };
  }

  /** Pending requests, incoming and outgoing, most recent first. */
  async listRequests(actor: Actor, limit: number, cursor?: string) {
    const rows = await this.friends.listPending(
      actor.userId,
      limit + 1,
      decodeCursor(cursor, isFriendsCursor),
    );
    const items = rows.slice(0, limit).map((r) => toRequestView(actor.userId, r.friendship, r.user));
    return { items, nextCursor: nextCursorOf(rows, limit) };
  }

  /**
   * Sends a request; a pending request from the other person is accepted instead. Returns the request
   * and whether a new one was created (201) rather than an existing one returned or accepted (200).
   */
  async sendRequest(
    actor: Actor,
    input: SendFriendRequestBody,
  ): Promise<{ request: FriendRequestView; created: boolean }> {
    const target =
      'user_id' in input
        ? await this.users.findById(input.user_id)
        : await this.users.findByUsername(input.username);
    if (!target || target.deactivated_at !== null) throw new NotFoundError('User');
    if (target.id === actor.userId) {
      throw new UnprocessableError('You cannot send a friend request to yourself', 'cannot_friend_self');
    }
    const outcome = await this.db.transaction().execute(async (trx) => {
      if (await this.blocks.isBlockedEitherWay(actor.userId, target.id, trx)) {
        throw new ForbiddenError('A block exists between you and this user', 'blocked');
      }
      // At most two rounds: a concurrent request from the other side shows up on the second read.
      for (let round = 0; ; round++) {
        const existing = await this.friends.findBetween(actor.userId, target.id, trx);
        if (existing?.status === 'accepted') {
          throw new ConflictError('You are already friends', 'already_friends');
        }
        if (existing?.status === 'pending') {
          if (existing.requester_id === actor.userId) return { row: existing, kind: 'existing' as const };
          const accepted = await this.friends.setStatus(existing.id, 'accepted', trx, 'pending');
          if (accepted) return { row: accepted, kind: 'accepted' as const };
        } else {
          const row = await this.friends.upsertPending(actor.userId, target.id, trx);
          if (row) return { row, kind: 'created' as const };
        }
        if (round >= 2) throw new ConflictError('The request changed concurrently; retry', 'conflict');
      }
    });
    if (outcome.kind !== 'existing') await this.publish(outcome.row, actor.userId, target);
    return {
      request: toRequestView(actor.userId, outcome.row, target),
      created: outcome.kind === 'created',
    };
  }

  accept(actor: Actor, requestId: string): Promise<FriendRequestView> {
    return this.answer(actor, requestId, 'accepted');
  }

  reject(actor: Actor, requestId: string): Promise<FriendRequestView> {
    return this.answer(actor, requestId, 'rejected');
  }

  /** Ends a friendship, or withdraws/declines a pending request, between the caller and `userId`. */
  async remove(actor: Actor, userId: string): Promise<{ user_id: string; removed: boolean }> {
    if (userId === actor.userId) throw new NotFoundError('Friend');
    const removed = await this.db.transaction().execute(async (trx) => {
      const existing = await this.friends.findBetween(actor.userId, userId, trx);
      if (!existing || existing.status === 'rejected') return undefined;
      return this.friends.deleteBetween(actor.userId, userId, trx);
    });
    if (!removed) throw new NotFoundError('Friend');
    this.bus.publish('friendship.updated', friendshipRemoved(removed, actor.userId));
    return { user_id: userId, removed: true };
  }

  /** Only the receiver may answer a pending request; anyone else gets 404 so requests do not leak. */
  private async answer(
    actor: Actor,
    requestId: string,
    status: 'accepted' | 'rejected',
  ): Promise<FriendRequestView> {
    const row = await this.db.transaction().execute(async (trx) => {
      const request = await this.friends.findById(requestId, trx);
      if (!request || request.receiver_id !== actor.userId) return undefined;
      if (request.status !== 'pending') {
        throw new ConflictError(`The request is already ${request.status}`, 'request_not_pending');
      }
      return this.friends.setStatus(request.id, status, trx, 'pending');
    });
    if (!row) throw new NotFoundError('Friend request');
    const other = await this.users.findById(row.requester_id);
    if (!other) throw new NotFoundError('Friend request');
    await this.publish(row, actor.userId, other);
    return toRequestView(actor.userId, row, other);
  }

  /** After commit: the request as each of the two lists it, for their devices (realtime `friend_request*`). */
  private async publish(row: FriendshipRow, actorId: string, other: UserRow): Promise<void> {
    // The change is committed: a failed lookup costs the live event only (lists are reloaded on reconnect).
    const self = await this.users.findById(actorId).catch(() => undefined);
    if (!self) return;
    this.bus.publish('friendship.updated', {
      friendship_id: row.id,
      requester_id: row.requester_id,
      receiver_id: row.receiver_id,
      status: row.status,
      actor_id: actorId,
      views: {
        [self.id]: toRequestView(self.id, row, other),
        [other.id]: toRequestView(other.id, row, self),
      },
    });
  }
}
