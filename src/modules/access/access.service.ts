// Access rules every module shares: current membership, visible messages and files, group admins, authors, DM
// writes.
// Non-members get 404 (existence does not leak); a member who may not do something gets 403.
import type { Kysely, Transaction } from 'kysely';
import type { Config } from '../../config.js';
import type { DB } from '../../db/schema.js';
import { ForbiddenError, NotFoundError, UnprocessableError } from '../../errors.js';
import { BlocksRepository } from '../blocks/blocks.repository.js';
import { FriendsRepository } from '../friends/friends.repository.js';
import { AccessRepository, type Membership, type VisibleMessage } from './access.repository.js';

export type { Membership, StoredMessage, VisibleMessage } from './access.repository.js';

export interface AccessDeps {
  db: Kysely<DB>;
  config: Pick<Config, 'dmRequiresFriendship'>;
}

/** The 403 a member gets when neither the author nor a group admin (modules word it their own way). */
export interface Refusal {
  message: string;
  code: string;
}

const NOT_AUTHOR_OR_ADMIN: Refusal = {
  message: 'Only the author or a group admin can do this',
  code: 'forbidden',
};

/** The author passes; anyone else must be an admin of a group. Throws 403 with `refusal` otherwise. */
export function requireAuthorOrAdminOf(
  membership: Membership,
  authorId: string | null,
  refusal: Refusal = NOT_AUTHOR_OR_ADMIN,
): void {
  if (authorId !== null && authorId === membership.member.user_id) return;
  if (membership.conversation.type === 'group' && membership.member.role === 'admin') return;
  throw new ForbiddenError(refusal.message, refusal.code);
}

export const BLOCKED_MESSAGE = 'You cannot message this user';

/** What the file rule reads of a file row. */
export interface FileRef {
  id: string;
  /** Null once the uploader's account is gone. */
  uploader_id: string | null;
  status: string;
  kind: string;
}

export class AccessService {
  readonly repo: AccessRepository;
  private readonly blocks: BlocksRepository;
  private readonly friends: FriendsRepository;

  constructor(private readonly deps: AccessDeps) {
    this.repo = new AccessRepository(deps.db);
    this.blocks = new BlocksRepository(deps.db);
    this.friends = new FriendsRepository(deps.db);
  }

  /** The user's current membership (with its conversation); 404 `not_found` for anyone else. */
  async requireMember(
    userId: string,
    conversationId: string,
    trx?: Kysely<DB> | Transaction<DB>,
  ): Promise<Membership> {
    const found = await this.repo.membership(conversationId, userId, trx);
    if (!found) throw new NotFoundError('Conversation');
    return found;
  }

  /** May the user write here: a current member (404), and in a DM no block either way (403 `blocked`). */
  async requireWritable(userId: string, conversationId: string): Promise<Membership> {
    const found = await this.requireMember(userId, conversationId);
    if (found.dmBlocked) throw new ForbiddenError(BLOCKED_MESSAGE, 'blocked');
    return found;
  }

  /**
   * The rules between two people for a DM: a block in either direction refuses it (403 `blocked`); opening a
   * new DM with DM_REQUIRES_FRIENDSHIP needs an accepted friendship (403 `friendship_required`). A DM that
   * exists stays usable after an unfriending, so `opening` is false for it.
   */
  async requireDmWritable(userId: string, peerId: string, options: { opening: boolean }): Promise<void> {
    if (await this.blocks.isBlockedEitherWay(userId, peerId)) {
      throw new ForbiddenError(BLOCKED_MESSAGE, 'blocked');
    }
    if (
      options.opening &&
      this.deps.config.dmRequiresFriendship &&
      !(await this.friends.areFriends(userId, peerId))
    ) {
      throw new ForbiddenError('Only friends can start a direct conversation', 'friendship_required');
    }
  }

  /** A message in a conversation the user currently belongs to, with that membership; 404 otherwise. */
  async requireVisibleMessage(userId: string, messageId: string): Promise<VisibleMessage> {
    const found = await this.repo.visibleMessage(messageId, userId);
    if (!found) throw new NotFoundError('Message');
    return found;
  }

  /** Membership with admin rights in a group: 404 outsiders, 422 `not_a_group` for DMs, 403 `admin_required`. */
  async requireGroupAdmin(userId: string, conversationId: string): Promise<Membership> {
    const found = await this.requireMember(userId, conversationId);
    if (found.conversation.type !== 'group') {
      throw new UnprocessableError('Only groups have settings and members to manage', 'not_a_group');
    }
    if (found.member.role !== 'admin') throw new ForbiddenError('Group admins only', 'admin_required');
    return found;
  }

  /** A visible message (404) whose author is the user or whose group the user administers (403 `refusal`). */
  async requireAuthorOrGroupAdmin(
    userId: string,
    messageId: string,
    refusal?: Refusal,
  ): Promise<VisibleMessage> {
    const found = await this.requireVisibleMessage(userId, messageId);
    requireAuthorOrAdminOf(found, found.message.sender_id, refusal);
    return found;
  }

  /** Ids of the conversations the user currently belongs to (the rooms a socket joins). */
  conversationIds(userId: string): Promise<string[]> {
    return this.repo.conversationIds(userId);
  }

  /**
   * Who sees a file: its uploader always; once it is ready, the members of a conversation where a live message
   * carries it, and, for an image that is a profile picture, anyone (a group's picture: its members). 404 else.
   */
  async requireVisibleFile<F extends FileRef>(userId: string, file: F | undefined): Promise<F> {
    if (!file) throw new NotFoundError('File');
    if (file.uploader_id === userId) return file;
    if (file.status === 'ready') {
      if (await this.repo.fileAttachedWhereMember(file.id, userId)) return file;
      if (file.kind === 'image' && (await this.repo.avatarVisibleTo(file, userId))) return file;
    }
    throw new NotFoundError('File');
  }

  /** The user's contacts (see AccessRepository.contactIds): who may see their presence. */
  contactIds(userId: string): Promise<string[]> {
    return this.repo.contactIds(userId);
  }

  /** The subset of `others` who are contacts of `userId`. */
  async contactsAmong(userId: string, others: readonly string[]): Promise<Set<string>> {
    if (others.length === 0) return new Set();
    const contacts = new Set(await this.contactIds(userId));
    return new Set(others.filter((id) => contacts.has(id)));
  }
}
