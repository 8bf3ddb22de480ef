// Conversations: DMs (get-or-create by pair key), groups, membership, mute; access checks first, events after commit.
import type { Kysely } from 'kysely';
import type { Config } from '../../config.js';
import { newId } from '../../db/ids.js';
import type { DB } from '../../db/schema.js';
import { ForbiddenError, NotFoundError, UnprocessableError, ValidationError } from '../../errors.js';
import type { EventBus } from '../../events/bus.js';
import { decodeCursor, encodeCursor } from '../../http/envelope.js';
import type { Actor } from '../../identity/actor.js';
import type { AccessService } from '../access/access.service.js';
import { BlocksRepository } from '../blocks/blocks.repository.js';
import { checkedAvatarUrl } from '../files/avatars.js';
import { appendMessage } from '../messages/append-message.js';
import { MessageAttachments } from '../messages/message-attachments.js';
import { MessagesRepository } from '../messages/messages.repository.js';
import { UsersRepository } from '../users/users.repository.js';
import { appendConversationEvent } from './conversation-events.js';
import { toConversationView } from './conversation-views.js';
import { ConversationsRepository, type ListCursor } from './conversations.repository.js';
import type {
  ConversationView,
  CreateConversationInput,
  UpdateConversationInput,
} from './conversations.schemas.js';
import { MembersRepository } from './members.repository.js';

export interface ServiceDeps {
  db: Kysely<DB>;
  bus: EventBus;
  config: Config;
}

/** "Forever" as a timestamp every client can parse. */
export const MUTED_FOREVER = new Date('9999-12-31T23:59:59.000Z');

const isListCursor = (v: unknown): v is ListCursor =>
  typeof v === 'object' &&
  v !== null &&
  Number.isSafeInteger((v as ListCursor).activity_us) &&
  typeof (v as ListCursor).id === 'string' &&
  /^[0-9a-f-]{36}$/i.test((v as ListCursor).id);

export class ConversationsService {
  readonly repo: ConversationsRepository;
  readonly members: MembersRepository;
  readonly messages: MessagesRepository;
  private readonly users: UsersRepository;
  private readonly blocks: BlocksRepository;

  constructor(
    private readonly deps: ServiceDeps,
    readonly access: AccessService,
    private readonly attachments: MessageAttachments = new MessageAttachments(),
  ) {
    this.repo = new ConversationsRepository(deps.db);
    this.members = new MembersRepository(deps.db);
    this.messages = new MessagesRepository(deps.db);
    this.users = new UsersRepository(deps.db);
    this.blocks = new BlocksRepository(deps.db);
  }

  // ---- REST ----

  async list(
    actor: Actor,
    options: { limit: number; cursor?: string },
  ): Promise<{ items: ConversationView[]; nextCursor: string | null }> {
    const cursor = decodeCursor(options.cursor, isListCursor);
    const rows = await this.repo.listForUser(actor.userId, { limit: options.limit + 1, cursor });
    const more = rows.length > options.limit;
    const pageRows = more ? rows.slice(0, options.limit) : rows;
    await this.attachments.fill(pageRows.flatMap((r) => (r.last_message ? [r.last_message] : [])));
    const items = pageRows.map(toConversationView);
    const last = pageRows.at(-1);
    return {
      items,
      nextCursor: more && last ? encodeCursor({ activity_us: Number(last.activity_us), id: last.id }) : null,
    };
  }

  async get(actor: Actor, conversationId: string): Promise<ConversationView> {
    const [row] = await this.repo.listForUser(actor.userId, { limit: 1, conversationId });
    if (!row) throw new NotFoundError('Conversation');
    if (row.last_message) await this.attachments.fill(row.last_message);
    return toConversationView(row);
  }

  async create(
    actor: Actor,
    input: CreateConversationInput,
  ): Promise<{ conversation: ConversationView; created: boolean }> {
    return input.type === 'dm' ? this.openDm(actor, input) : this.createGroup(actor, input);
  }

  private async openDm(
    actor: Actor,
    input: CreateConversationInput,
  ): Promise<{ conversation: ConversationView; created: boolean }> {
    const others = [...new Set(input.member_ids)].filter((id) => id !== actor.userId);
    if (others.length !== 1 || input.member_ids.length > 2) {
      throw new ValidationError('A direct conversation needs exactly one other member', {
        field: 'member_ids',
      });
    }
    const otherId = others[0] as string;
    const other = await this.users.findById(otherId);
    if (!other || other.deactivated_at) throw new NotFoundError('User');
    const [a, b] = [actor.userId, otherId].sort();
    const dmKey = `dm:${a}:${b}`;
    const existing = await this.repo.findByDmKey(dmKey);
    await this.access.requireDmWritable(actor.userId, otherId, { opening: !existing });
    const { id, created } = await this.deps.db.transaction().execute(async (trx) => {
      const inserted = await this.repo.insertDm(
        { id: newId(), dm_key: dmKey, created_by: actor.userId },
        trx,
      );
      if (inserted) {
        await this.members.upsertMembers(
          inserted.id,
          [
            { user_id: actor.userId, role: 'member' },
            { user_id: otherId, role: 'member' },
          ],
          0,
          trx,
        );
        return { id: inserted.id, created: true };
      }
      // Someone else created it first (or it existed): same conversation for both.
      const found = await this.repo.findByDmKey(dmKey, trx);
      if (!found) throw new Error('direct conversation vanished during get-or-create');
      return { id: found.id, created: false };
    });
    if (created) {
      this.deps.bus.publish('conversation.created', {
        conversation_id: id,
        member_ids: [actor.userId, otherId],
        actor_id: actor.userId,
      });
    }
    return { conversation: await this.get(actor, id), created };
  }

  private async createGroup(
    actor: Actor,
    input: CreateConversationInput,
  ): Promise<{ conversation: ConversationView; created: boolean }> {
    const name = input.name?.trim();
    if (!name) throw new ValidationError('A group needs a name', { field: 'name' });
    const avatarUrl = input.avatar_url
      ? await checkedAvatarUrl(this.deps.db, actor.userId, input.avatar_url, this.deps.config.environment)
      : null;
    const memberIds = [...new Set(input.member_ids)].filter((id) => id !== actor.userId);
    this.checkGroupSize(memberIds.length + 1);
    await this.checkAddable(actor, memberIds);
    const id = newId();
    await this.deps.db.transaction().execute(async (trx) => {
      await this.repo.insertGroup(
        {
          id,
          name,
          created_by: actor.userId,
          description: input.description?.trim() || null,
          avatar_url: avatarUrl,
        },
        trx,
      );
      await this.members.upsertMembers(
        id,
        [
          { user_id: actor.userId, role: 'admin' },
          ...memberIds.map((m) => ({ user_id: m, role: 'member' as const })),
        ],
        0,
        trx,
      );
    });
    this.deps.bus.publish('conversation.created', {
      conversation_id: id,
      member_ids: [actor.userId, ...memberIds],
      actor_id: actor.userId,
    });
    return { conversation: await this.get(actor, id), created: true };
  }

  async update(
    actor: Actor,
    conversationId: string,
    input: UpdateConversationInput,
  ): Promise<ConversationView> {
    const { conversation } = await this.access.requireGroupAdmin(actor.userId, conversationId);
    const changes: { name?: string; description?: string | null; avatar_url?: string | null } = {};
    if (input.name !== undefined) {
      const name = input.name.trim();
      if (!name) throw new ValidationError('name must not be empty', { field: 'name' });
      if (name !== conversation.name) changes.name = name;
    }
    if (input.description !== undefined && input.description !== conversation.description) {
      changes.description = input.description?.trim() || null;
    }
    const avatarUrl = input.avatar_url
      ? await checkedAvatarUrl(this.deps.db, actor.userId, input.avatar_url, this.deps.config.environment)
      : input.avatar_url;
    if (avatarUrl !== undefined && avatarUrl !== conversation.avatar_url) changes.avatar_url = avatarUrl;
    if (Object.keys(changes).length === 0) return this.get(actor, conversationId);

    const { seq, systemId } = await this.deps.db.transaction().execute(async (trx) => {
      await this.repo.update(conversationId, changes, trx);
      const seq = await appendConversationEvent(trx, {
        conversation_id: conversationId,
        type: 'conversation.updated',
        actor_id: actor.userId,
        payload: { changes },
      });
      let systemId: string | undefined;
      if (changes.name !== undefined) {
        const message = await appendMessage(trx, {
          conversation_id: conversationId,
          sender_id: actor.userId,
          type: 'system',
          content: 'group_renamed',
          metadata: { action: 'group_renamed', name: changes.name, old_name: conversation.name },
        });
        systemId = message.id;
      }
      return { seq, systemId };
    });
    this.deps.bus.publish('conversation.updated', {
      conversation_id: conversationId,
      seq,
      changes,
      actor_id: actor.userId,
    });
    await this.publishCreatedMessages(systemId ? [systemId] : []);
    return this.get(actor, conversationId);
  }

  // ---- helpers ----

  checkGroupSize(size: number): void {
    if (size > this.deps.config.maxGroupMembers) {
      throw new UnprocessableError(
        `A group has at most ${this.deps.config.maxGroupMembers} members`,
        'group_too_large',
        { max: this.deps.config.maxGroupMembers },
      );
    }
  }

  /** Every user exists and is active, and none of them blocked the actor. */
  async checkAddable(actor: Actor, userIds: string[]): Promise<void> {
    if (userIds.length === 0) return;
    const users = await this.users.findByIds(userIds);
    const active = new Set(users.filter((u) => !u.deactivated_at).map((u) => u.id));
    const unknown = userIds.filter((id) => !active.has(id));
    if (unknown.length > 0) {
      throw new UnprocessableError('Unknown or deactivated users', 'unknown_user', { user_ids: unknown });
    }
    const blockers = new Set(await this.blocks.blockerIdsOf(actor.userId));
    if (userIds.some((id) => blockers.has(id))) {
      throw new ForbiddenError('You cannot add a user who blocked you', 'blocked');
    }
  }

  /** Publishes message.created for messages stored by a committed transaction (system messages). */
  async publishCreatedMessages(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const views = await this.attachments.fill(await this.messages.viewsByIds(ids, null));
    for (const message of views) this.deps.bus.publish('message.created', { message });
  }
}
