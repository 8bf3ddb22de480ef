// Group membership: add, change role, remove or leave (the last admin hands over), and personal mute.
import type { MemberRow } from '../../db/schema.js';
import { ForbiddenError, NotFoundError, UnprocessableError } from '../../errors.js';
import type { Actor } from '../../identity/actor.js';
import { appendMessage } from '../messages/append-message.js';
import { appendConversationEvent } from './conversation-events.js';
import type { ConversationView, MuteInput } from './conversations.schemas.js';
import { type ConversationsService, MUTED_FOREVER, type ServiceDeps } from './conversations.service.js';
import type { MembersRepository } from './members.repository.js';

export class MembersService {
  private readonly members: MembersRepository;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly conversations: ConversationsService,
  ) {
    this.members = conversations.members;
  }

  async addMembers(actor: Actor, conversationId: string, memberIds: string[]): Promise<ConversationView> {
    await this.conversations.access.requireGroupAdmin(actor.userId, conversationId);
    const wanted = [...new Set(memberIds)].filter((id) => id !== actor.userId);
    await this.conversations.checkAddable(actor, wanted);
    const result = await this.deps.db.transaction().execute(async (trx) => {
      await this.conversations.repo.lockById(conversationId, trx);
      const current = new Set(await this.members.currentMemberIds(conversationId, trx));
      const added = wanted.filter((id) => !current.has(id));
      if (added.length === 0) return undefined;
      this.conversations.checkGroupSize(current.size + added.length);
      const seq = await appendConversationEvent(trx, {
        conversation_id: conversationId,
        type: 'member.added',
        actor_id: actor.userId,
        payload: { user_ids: added },
      });
      await this.members.upsertMembers(
        conversationId,
        added.map((id) => ({ user_id: id, role: 'member' as const })),
        seq,
        trx,
      );
      const message = await appendMessage(trx, {
        conversation_id: conversationId,
        sender_id: actor.userId,
        type: 'system',
        content: 'member_added',
        metadata: { action: 'member_added', user_ids: added },
      });
      return { seq, added, systemId: message.id };
    });
    if (result) {
      this.deps.bus.publish('member.added', {
        conversation_id: conversationId,
        seq: result.seq,
        user_ids: result.added,
        actor_id: actor.userId,
      });
      await this.conversations.publishCreatedMessages([result.systemId]);
    }
    return this.conversations.get(actor, conversationId);
  }

  async updateMember(
    actor: Actor,
    conversationId: string,
    userId: string,
    role: 'admin' | 'member',
  ): Promise<ConversationView> {
    await this.conversations.access.requireGroupAdmin(actor.userId, conversationId);
    const seq = await this.deps.db.transaction().execute(async (trx) => {
      await this.conversations.repo.lockById(conversationId, trx);
      const members = await this.members.currentMembersOf([conversationId], trx);
      const target = members.find((m) => m.user_id === userId);
      if (!target) throw new NotFoundError('Member');
      if (target.role === role) return undefined;
      if (role === 'member' && members.filter((m) => m.role === 'admin').length <= 1) {
        throw new UnprocessableError('A group needs at least one admin', 'last_admin');
      }
      await this.members.setRole(conversationId, userId, role, trx);
      return appendConversationEvent(trx, {
        conversation_id: conversationId,
        type: 'member.updated',
        actor_id: actor.userId,
        payload: { user_id: userId, role },
      });
    });
    if (seq !== undefined) {
      this.deps.bus.publish('member.updated', {
        conversation_id: conversationId,
        seq,
        user_id: userId,
        role,
        actor_id: actor.userId,
      });
    }
    return this.conversations.get(actor, conversationId);
  }

  /** Removes a member (admins) or leaves (anyone, for themself); the last admin leaving hands admin on. */
  async removeMember(actor: Actor, conversationId: string, userId: string): Promise<void> {
    const leaving = userId === actor.userId;
    const { conversation, member } = await this.conversations.access.requireMember(
      actor.userId,
      conversationId,
    );
    if (conversation.type !== 'group') {
      throw new UnprocessableError('Direct conversations have no members to remove', 'not_a_group');
    }
    if (!leaving && member.role !== 'admin') throw new ForbiddenError('Group admins only', 'admin_required');
    const reason = leaving ? 'left' : 'removed';
    const result = await this.deps.db.transaction().execute(async (trx) => {
      await this.conversations.repo.lockById(conversationId, trx);
      const members = await this.members.currentMembersOf([conversationId], trx);
      const target = members.find((m) => m.user_id === userId);
      if (!target) throw new NotFoundError('Member');
      await this.members.markLeft(conversationId, userId, trx);
      const seq = await appendConversationEvent(trx, {
        conversation_id: conversationId,
        type: 'member.removed',
        actor_id: actor.userId,
        payload: { user_id: userId, reason },
      });
      const message = await appendMessage(trx, {
        conversation_id: conversationId,
        sender_id: actor.userId,
        type: 'system',
        content: leaving ? 'member_left' : 'member_removed',
        metadata: { action: leaving ? 'member_left' : 'member_removed', user_id: userId },
      });
      const rest = members.filter((m) => m.user_id !== userId);
      let promoted: { user_id: string; seq: number } | undefined;
      if (target.role === 'admin' && rest.length > 0 && !rest.some((m) => m.role === 'admin')) {
        // Longest-standing member first (members are ordered by joined_at, then user_id).
        const heir = rest[0] as MemberRow;
        await this.members.setRole(conversationId, heir.user_id, 'admin', trx);
        const promotedSeq = await appendConversationEvent(trx, {
          conversation_id: conversationId,
          type: 'member.updated',
          actor_id: actor.userId,
          payload: { user_id: heir.user_id, role: 'admin' },
        });
        promoted = { user_id: heir.user_id, seq: promotedSeq };
      }
      return { seq, systemId: message.id, promoted };
    });
    this.deps.bus.publish('member.removed', {
      conversation_id: conversationId,
      seq: result.seq,
      user_id: userId,
      actor_id: actor.userId,
      reason,
    });
    await this.conversations.publishCreatedMessages([result.systemId]);
    if (result.promoted) {
      this.deps.bus.publish('member.updated', {
        conversation_id: conversationId,
        seq: result.promoted.seq,
        user_id: result.promoted.user_id,
        role: 'admin',
        actor_id: actor.userId,
      });
    }
  }

  async mute(
    actor: Actor,
    conversationId: string,
    input: MuteInput,
  ): Promise<{ conversation_id: string; muted_until: string | null }> {
    await this.conversations.access.requireMember(actor.userId, conversationId);
    let until: Date | null = null;
    if (input.forever) until = MUTED_FOREVER;
    else if (input.muted_until) {
      until = new Date(input.muted_until);
      if (until.getTime() <= Date.now()) {
        throw new UnprocessableError('muted_until must be in the future', 'invalid_mute', {
          field: 'muted_until',
        });
      }
    }
    await this.members.setMutedUntil(conversationId, actor.userId, until);
    const mutedUntil = until ? until.toISOString() : null;
    this.deps.bus.publish('member.muted', {
      conversation_id: conversationId,
      user_id: actor.userId,
      muted_until: mutedUntil,
    });
    return { conversation_id: conversationId, muted_until: mutedUntil };
  }
}
