// Inbox membership (admins): who handles an inbox is who is in its external conversations. Adding members puts
// them in every existing conversation of the inbox, removing one takes them out, in one transaction, through the
// conversations' own membership log (member.added / member.removed events and system messages).
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { ForbiddenError, NotFoundError, UnprocessableError } from '../../errors.js';
import type { EventBus } from '../../events/bus.js';
import type { Actor } from '../../identity/actor.js';
import { AuditRepository } from '../admin/audit.repository.js';
import { appendConversationEvent } from '../conversations/conversation-events.js';
import type { ConversationsService } from '../conversations/conversations.service.js';
import { appendMessage } from '../messages/append-message.js';
import { toInboxView } from './channel-views.js';
import type { InboxView } from './channels.schemas.js';
import type { InboxMembersRepository } from './inbox-members.repository.js';

export interface InboxMembersDeps {
  db: Kysely<DB>;
  bus: EventBus;
  repo: InboxMembersRepository;
  conversations: ConversationsService;
}

interface Change {
  conversationId: string;
  seq: number;
  systemId: string;
  userIds: string[];
}

export class InboxMembersService {
  private readonly audit: AuditRepository;

  constructor(private readonly deps: InboxMembersDeps) {
    this.audit = new AuditRepository(deps.db);
  }

  private requireAdmin(actor: Actor): void {
    if (actor.role !== 'admin') throw new ForbiddenError('Administrators only', 'admin_required');
  }

  /** Adds active users to the inbox and to each of its conversations they are not in; members already in are kept. */
  async add(actor: Actor, inboxId: string, userIds: string[], ip: string | null): Promise<InboxView> {
    this.requireAdmin(actor);
    const wanted = [...new Set(userIds)];
    const found = await this.deps.db
      .selectFrom('users')
      .select('id')
      .where('id', 'in', wanted)
      .where('deactivated_at', 'is', null)
      .execute();
    const { members: memberships, repo: conversations } = this.deps.conversations;
    const result = await this.deps.db.transaction().execute(async (trx) => {
      const inbox = await this.deps.repo.lockInbox(trx, inboxId);
      if (!inbox) throw new NotFoundError('Inbox');
      if (found.length !== wanted.length) {
        throw new UnprocessableError('user_ids must be active users', 'invalid_members', {
          field: 'user_ids',
        });
      }
      const current = new Set(await this.deps.repo.memberIds(inboxId, trx));
      const added = wanted.filter((id) => !current.has(id));
      await this.deps.repo.addMembers(trx, inboxId, added);
      const changes: Change[] = [];
      if (added.length > 0) {
        for (const conversationId of await this.deps.repo.conversationIds(trx, inboxId)) {
          await conversations.lockById(conversationId, trx);
          const inside = new Set(await memberships.currentMemberIds(conversationId, trx));
          const joining = added.filter((id) => !inside.has(id));
          if (joining.length === 0) continue;
          const seq = await appendConversationEvent(trx, {
            conversation_id: conversationId,
            type: 'member.added',
            actor_id: actor.userId,
            payload: { user_ids: joining, reason: 'inbox' },
          });
          await memberships.upsertMembers(
            conversationId,
            joining.map((id) => ({ user_id: id, role: 'member' as const })),
            seq,
            trx,
          );
          const system = await appendMessage(trx, {
            conversation_id: conversationId,
            sender_id: actor.userId,
            type: 'system',
            content: 'member_added',
            metadata: { action: 'member_added', user_ids: joining },
          });
          changes.push({ conversationId, seq, systemId: system.id, userIds: joining });
        }
        await this.audit.record(
          {
            actorId: actor.userId,
            action: 'channel_inbox.members_add',
            targetType: 'channel_inbox',
            targetId: inboxId,
            details: { user_ids: added, conversations: changes.length },
            ip,
          },
          trx,
        );
      }
      return { inbox, changes, memberIds: await this.deps.repo.memberIds(inboxId, trx) };
    });
    for (const change of result.changes) {
      this.deps.bus.publish('member.added', {
        conversation_id: change.conversationId,
        seq: change.seq,
        user_ids: change.userIds,
        actor_id: actor.userId,
      });
    }
    await this.deps.conversations.publishCreatedMessages(result.changes.map((c) => c.systemId));
    return toInboxView({ ...result.inbox, member_ids: result.memberIds });
  }

  /** Takes a member off the inbox and out of its conversations; the last member stays (422 last_inbox_member). */
  async remove(actor: Actor, inboxId: string, userId: string, ip: string | null): Promise<void> {
    this.requireAdmin(actor);
    const { members: memberships, repo: conversations } = this.deps.conversations;
    const changes = await this.deps.db.transaction().execute(async (trx) => {
      const inbox = await this.deps.repo.lockInbox(trx, inboxId);
      if (!inbox) throw new NotFoundError('Inbox');
      const current = await this.deps.repo.memberIds(inboxId, trx);
      if (!current.includes(userId)) throw new NotFoundError('Inbox member');
      if (current.length === 1) {
        throw new UnprocessableError(
          'An inbox keeps at least one member; add the next one first',
          'last_inbox_member',
        );
      }
      await this.deps.repo.removeMember(trx, inboxId, userId);
      const out: Change[] = [];
      for (const conversationId of await this.deps.repo.conversationIds(trx, inboxId)) {
        await conversations.lockById(conversationId, trx);
        const inside = await memberships.currentMemberIds(conversationId, trx);
        if (!inside.includes(userId)) continue;
        await memberships.markLeft(conversationId, userId, trx);
        const seq = await appendConversationEvent(trx, {
          conversation_id: conversationId,
          type: 'member.removed',
          actor_id: actor.userId,
          payload: { user_id: userId, reason: 'removed' },
        });
        const system = await appendMessage(trx, {
          conversation_id: conversationId,
          sender_id: actor.userId,
          type: 'system',
          content: 'member_removed',
          metadata: { action: 'member_removed', user_id: userId },
        });
        out.push({ conversationId, seq, systemId: system.id, userIds: [userId] });
      }
      await this.audit.record(
        {
          actorId: actor.userId,
          action: 'channel_inbox.members_remove',
          targetType: 'channel_inbox',
          targetId: inboxId,
          details: { user_id: userId, conversations: out.length },
          ip,
        },
        trx,
      );
      return out;
    });
    for (const change of changes) {
      this.deps.bus.publish('member.removed', {
        conversation_id: change.conversationId,
        seq: change.seq,
        user_id: userId,
        actor_id: actor.userId,
        reason: 'removed',
      });
    }
    await this.deps.conversations.publishCreatedMessages(changes.map((c) => c.systemId));
  }
}
