// Users: profiles, ranked directory search, the caller's own profile and settings, presence visibility rules.
import type { Config } from '../../config.js';
import type { UserRow } from '../../db/schema.js';
import { NotFoundError, UnprocessableError, ValidationError } from '../../errors.js';
import type { EventBus } from '../../events/bus.js';
import { decodeCursor, encodeCursor } from '../../http/envelope.js';
import type { Actor } from '../../identity/actor.js';
import { BlocksRepository } from '../blocks/blocks.repository.js';
import type { ServiceDeps } from '../conversations/conversations.service.js';
import { checkedAvatarUrl } from '../files/avatars.js';
import { FriendsRepository } from '../friends/friends.repository.js';
import { UsersRepository } from './users.repository.js';
import {
  type SelfView,
  toSelfView,
  toUserView,
  type UpdateMeBody,
  type UserProfileView,
  type UserView,
  userSettings,
} from './users.schemas.js';

/** How the viewer relates to the subject; computed by the caller (realtime keeps its own caches). */
export interface PresenceRelation {
  sharesConversation: boolean;
  areFriends: boolean;
  /** Either one blocked the other: nothing is shown. */
  blocked?: boolean;
}

export interface PresenceVisibility {
  /** May the viewer see that the subject is online (user_online / user_offline)? */
  online: boolean;
  /** May the viewer see the subject's last_seen_at? */
  lastSeen: boolean;
}

/**
 * Pure presence rule. Online status: only contacts (friends or people sharing a conversation), and
 * nobody when the subject's privacy has `online: false`. Last seen: `everyone` = anyone who may look,
 * `contacts` = contacts only, `nobody` = no one. A user always sees their own; a block hides both.
 */
export function canSeePresence(
  viewerId: string,
  subject: Pick<UserRow, 'id' | 'settings'>,
  relation: PresenceRelation,
): PresenceVisibility {
  if (viewerId === subject.id) return { online: true, lastSeen: true };
  if (relation.blocked) return { online: false, lastSeen: false };
  const { privacy } = userSettings(subject);
  const contact = relation.sharesConversation || relation.areFriends;
  const lastSeen = privacy.last_seen === 'everyone' || (privacy.last_seen === 'contacts' && contact);
  return { online: privacy.online && contact, lastSeen };
}

function isSearchCursor(v: unknown): v is { o: number } {
  const o = (v as { o?: unknown } | null)?.o;
  return typeof o === 'number' && Number.isInteger(o) && o >= 0 && o <= 100_000;
}

const PROFILE_FIELDS = ['display_name', 'avatar_url', 'position'] as const;

export class UsersService {
  private readonly config: Config;
  private readonly bus: EventBus;
  private readonly users: UsersRepository;
  private readonly friends: FriendsRepository;
  private readonly blocks: BlocksRepository;
  private readonly db: ServiceDeps['db'];

  constructor(deps: ServiceDeps) {
    this.db = deps.db;
    this.config = deps.config;
    this.bus = deps.bus;
    this.users = new UsersRepository(deps.db);
    this.friends = new FriendsRepository(deps.db);
    this.blocks = new BlocksRepository(deps.db);
  }

  /** Unknown users are 404; deactivated ones are still shown (deactivated: true) so history stays readable. */
  async getUser(actor: Actor, userId: string): Promise<UserProfileView> {
    const user = await this.users.findById(userId);
    if (!user) throw new NotFoundError('User');
    const self = user.id === actor.userId;
    const [friendship, blockedByMe, blockedEitherWay, sharesConversation] = self
      ? [undefined, false, false, true]
      : await Promise.all([
          this.friends.findBetween(actor.userId, user.id),
          this.blocks.hasBlocked(actor.userId, user.id),
          this.blocks.isBlockedEitherWay(actor.userId, user.id),
          this.users.shareConversation(actor.userId, user.id),
        ]);
    const areFriends = friendship?.status === 'accepted';
    const visibility = canSeePresence(actor.userId, user, {
      sharesConversation,
      areFriends,
      blocked: blockedEitherWay,
    });
    let relation: UserProfileView['friendship'] = 'none';
    if (areFriends) relation = 'friends';
    else if (friendship?.status === 'pending') {
      relation = friendship.requester_id === actor.userId ? 'outgoing' : 'incoming';
    }
    return {
      ...toUserView(user),
      last_seen_at: visibility.lastSeen && user.last_seen_at ? user.last_seen_at.toISOString() : null,
      friendship: relation,
      blocked: blockedByMe,
    };
  }

  /** Ranked trigram search; leaves out deactivated users and people who blocked the caller. */
  async search(
    actor: Actor,
    query: string,
    limit: number,
    cursor?: string,
  ): Promise<{ items: UserView[]; nextCursor: string | null }> {
    const q = query.trim();
    if (q.length === 0) throw new ValidationError('q must not be blank', { field: 'q' });
    const offset = decodeCursor(cursor, isSearchCursor)?.o ?? 0;
    const rows = await this.users.searchVisibleTo(actor.userId, q, limit + 1, offset);
    const nextCursor = rows.length > limit ? encodeCursor({ o: offset + limit }) : null;
    return { items: rows.slice(0, limit).map(toUserView), nextCursor };
  }

  /** The caller's own profile and settings. */
  async getMe(actor: Actor): Promise<SelfView> {
    const user = await this.users.findById(actor.userId);
    if (!user) throw new NotFoundError('User');
    return toSelfView(user);
  }

  /** Profile fields (local mode only) and partial privacy / notification settings; returns the SelfView. */
  async updateMe(actor: Actor, input: UpdateMeBody): Promise<SelfView> {
    const profile: Partial<Record<(typeof PROFILE_FIELDS)[number], string | null>> = {};
    for (const field of PROFILE_FIELDS) {
      if (input[field] !== undefined) profile[field] = input[field];
    }
    if (Object.keys(profile).length > 0 && this.config.authMode === 'tms') {
      throw new UnprocessableError(
        'Profile fields are managed by the Team Management System',
        'managed_by_tms',
        { fields: Object.keys(profile) },
      );
    }
    if (typeof profile.display_name === 'string') {
      profile.display_name = profile.display_name.trim();
      if (profile.display_name === '') {
        throw new ValidationError('display_name must not be blank', { field: 'display_name' });
      }
    }
    if (typeof profile.position === 'string') profile.position = profile.position.trim() || null;
    if (typeof profile.avatar_url === 'string')
      profile.avatar_url = await checkedAvatarUrl(
        this.db,
        actor.userId,
        profile.avatar_url,
        this.config.environment,
      );

    const tz = input.notifications?.quiet_hours?.tz;
    if (tz !== undefined && !validTimeZone(tz)) {
      throw new ValidationError('quiet_hours.tz must be an IANA time zone', {
        field: 'notifications.quiet_hours.tz',
      });
    }
    const updated = await this.users.updateProfileAndSettings(actor.userId, profile, {
      privacy: input.privacy,
      notifications: input.notifications,
    });
    if (!updated) throw new NotFoundError('User');
    this.bus.publish('user.updated', { user_id: updated.id });
    return toSelfView(updated);
  }

  /** See canSeePresence. */
  canSeePresence(viewerId: string, subject: Pick<UserRow, 'id' | 'settings'>, relation: PresenceRelation) {
    return canSeePresence(viewerId, subject, relation);
  }
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
