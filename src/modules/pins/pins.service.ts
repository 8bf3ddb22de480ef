// Pins: group admins (anyone in a DM) pin and unpin messages, at most 50 per conversation; each change is a seq'd event.
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { ForbiddenError, UnprocessableError } from '../../errors.js';
import type { EventBus } from '../../events/bus.js';
import type { Actor } from '../../identity/actor.js';
import type { AccessService, StoredMessage, VisibleMessage } from '../access/access.service.js';
import { appendConversationEvent } from '../conversations/conversation-events.js';
import type { MessagesService } from '../messages/messages.service.js';
import { PinsRepository } from './pins.repository.js';
import type { PinStateView, PinView } from './pins.schemas.js';

export const MAX_PINS = 50;

export interface PinsDeps {
  db: Kysely<DB>;
  bus: EventBus;
}

export class PinsService {
  private readonly repo: PinsRepository;

  constructor(
    private readonly deps: PinsDeps,
    private readonly access: AccessService,
    private readonly messages: MessagesService,
  ) {
    this.repo = new PinsRepository(deps.db);
  }

  async pin(actor: Actor, messageId: string): Promise<PinStateView> {
    const row = this.requirePinRights(await this.access.requireVisibleMessage(actor.userId, messageId));
    if (row.deleted_at) throw new UnprocessableError('A deleted message cannot be pinned', 'message_deleted');
    const seq = await this.deps.db.transaction().execute(async (trx) => {
      await this.repo.lockConversation(row.conversation_id, trx);
      if (await this.repo.find(row.conversation_id, messageId, trx)) return undefined;
      if ((await this.repo.count(row.conversation_id, trx)) >= MAX_PINS) {
        throw new UnprocessableError(
          `A conversation can have at most ${MAX_PINS} pinned messages`,
          'too_many_pins',
          {
            max: MAX_PINS,
          },
        );
      }
      await this.repo.insert(row.conversation_id, messageId, actor.userId, trx);
      return appendConversationEvent(trx, {
        conversation_id: row.conversation_id,
        type: 'message.pinned',
        actor_id: actor.userId,
        message_id: messageId,
        payload: { pinned: true },
      });
    });
    if (seq !== undefined) this.publish(row.conversation_id, seq, messageId, actor.userId, true);
    return this.state(row.conversation_id, messageId);
  }

  async unpin(actor: Actor, messageId: string): Promise<PinStateView> {
    const row = this.requirePinRights(await this.access.requireVisibleMessage(actor.userId, messageId));
    const seq = await this.deps.db.transaction().execute(async (trx) => {
      await this.repo.lockConversation(row.conversation_id, trx);
      if (!(await this.repo.delete(row.conversation_id, messageId, trx))) return undefined;
      return appendConversationEvent(trx, {
        conversation_id: row.conversation_id,
        type: 'message.pinned',
        actor_id: actor.userId,
        message_id: messageId,
        payload: { pinned: false },
      });
    });
    if (seq !== undefined) this.publish(row.conversation_id, seq, messageId, actor.userId, false);
    return this.state(row.conversation_id, messageId);
  }

  async list(actor: Actor, conversationId: string): Promise<PinView[]> {
    await this.access.requireMember(actor.userId, conversationId);
    const pins = await this.repo.list(conversationId);
    const views = await this.messages.withAttachments(
      await this.messages.repo.viewsByIds(
        pins.map((p) => p.message_id),
        actor.userId,
      ),
    );
    const byId = new Map(views.map((v) => [v.id, v]));
    return pins.flatMap((p) => {
      const message = byId.get(p.message_id);
      return message ? [{ message, pinned_by: p.pinned_by, pinned_at: p.pinned_at.toISOString() }] : [];
    });
  }

  /** Any member of a DM; only admins of a group. Returns the message. */
  private requirePinRights({ conversation, member, message }: VisibleMessage): StoredMessage {
    if (conversation.type === 'group' && member.role !== 'admin') {
      throw new ForbiddenError('Only group admins can pin messages', 'admin_required');
    }
    return message;
  }

  private async state(conversationId: string, messageId: string): Promise<PinStateView> {
    const pin = await this.repo.find(conversationId, messageId);
    return {
      message_id: messageId,
      conversation_id: conversationId,
      pinned: pin !== undefined,
      pinned_by: pin?.pinned_by ?? null,
      pinned_at: pin ? pin.pinned_at.toISOString() : null,
    };
  }

  private publish(
    conversationId: string,
    seq: number,
    messageId: string,
    userId: string,
    pinned: boolean,
  ): void {
    this.deps.bus.publish('message.pinned', {
      conversation_id: conversationId,
      seq,
      message_id: messageId,
      user_id: userId,
      pinned,
    });
  }
}
