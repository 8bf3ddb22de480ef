// Receipts as watermarks: delivered_seq / read_seq per member only move forward; per-message status is derived.
import type { Actor } from '../../identity/actor.js';
import type { ConversationsService, ServiceDeps } from '../conversations/conversations.service.js';
import { UsersRepository } from '../users/users.repository.js';
import { userSettings } from '../users/users.schemas.js';

export interface Watermarks {
  conversation_id: string;
  delivered_seq: number;
  read_seq: number;
}

export interface Receipt {
  user_id: string;
  status: 'sent' | 'delivered' | 'read';
  at: string | null;
}

export class ReceiptsService {
  private readonly users: UsersRepository;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly conversations: ConversationsService,
  ) {
    this.users = new UsersRepository(deps.db);
  }

  markDelivered(actor: Actor, conversationId: string, seq: number): Promise<Watermarks> {
    return this.raise(actor, conversationId, { delivered: seq });
  }

  /** Reading up to seq also marks everything up to seq delivered. */
  markRead(actor: Actor, conversationId: string, seq: number): Promise<Watermarks> {
    return this.raise(actor, conversationId, { read: seq });
  }

  /** Per current member except the sender: read / delivered / sent, honouring read-receipt privacy. */
  async forMessage(actor: Actor, messageId: string): Promise<Receipt[]> {
    const { message } = await this.conversations.access.requireVisibleMessage(actor.userId, messageId);
    const members = await this.conversations.members.membersWithSettings(message.conversation_id);
    const seq = Number(message.seq);
    return members
      .filter((m) => m.user_id !== message.sender_id)
      .map((m) => {
        const readVisible = m.user_id === actor.userId || userSettings(m).privacy.read_receipts;
        if (Number(m.read_seq) >= seq && readVisible) {
          return { user_id: m.user_id, status: 'read' as const, at: m.read_at?.toISOString() ?? null };
        }
        if (Number(m.delivered_seq) >= seq || Number(m.read_seq) >= seq) {
          return {
            user_id: m.user_id,
            status: 'delivered' as const,
            at: m.delivered_at?.toISOString() ?? null,
          };
        }
        return { user_id: m.user_id, status: 'sent' as const, at: null };
      });
  }

  /** Seqs beyond the conversation's last_seq are clamped to it; lower seqs than the watermark change nothing. */
  private async raise(
    actor: Actor,
    conversationId: string,
    marks: { delivered?: number; read?: number },
  ): Promise<Watermarks> {
    const { conversation, member } = await this.conversations.access.requireMember(
      actor.userId,
      conversationId,
    );
    const lastSeq = Number(conversation.last_seq);
    const clamp = (n: number | undefined) => (n === undefined ? undefined : Math.min(n, lastSeq));
    const wanted = { delivered: clamp(marks.delivered), read: clamp(marks.read) };
    const before = { delivered_seq: Number(member.delivered_seq), read_seq: Number(member.read_seq) };
    const moves =
      (wanted.delivered ?? 0) > before.delivered_seq ||
      (wanted.read ?? 0) > before.read_seq ||
      (wanted.read ?? 0) > before.delivered_seq;
    if (!moves) return { conversation_id: conversationId, ...before };
    const after =
      (await this.conversations.members.raiseWatermarks(conversationId, actor.userId, wanted)) ?? before;
    if (after.delivered_seq !== before.delivered_seq || after.read_seq !== before.read_seq) {
      const user = await this.users.findById(actor.userId);
      this.deps.bus.publish('receipt.updated', {
        conversation_id: conversationId,
        user_id: actor.userId,
        delivered_seq: after.delivered_seq,
        read_seq: after.read_seq,
        read_visible: user ? userSettings(user).privacy.read_receipts : true,
      });
    }
    return { conversation_id: conversationId, ...after };
  }
}
