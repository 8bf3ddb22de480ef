// Reactions: one emoji per call, idempotent add/remove, at most 20 distinct emoji per message, each change a seq'd event.
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import { NotFoundError, UnprocessableError, ValidationError } from '../../errors.js';
import type { EventBus } from '../../events/bus.js';
import type { MessageView } from '../../events/domain-events.js';
import type { Actor } from '../../identity/actor.js';
import type { AccessService } from '../access/access.service.js';
import { appendConversationEvent } from '../conversations/conversation-events.js';
import type { MessagesService } from '../messages/messages.service.js';
import { normaliseEmoji } from './emoji.js';
import { ReactionsRepository } from './reactions.repository.js';

export const MAX_DISTINCT_REACTIONS = 20;

type LockedMessage = NonNullable<Awaited<ReturnType<ReactionsRepository['lockMessage']>>>;

export interface ReactionsDeps {
  db: Kysely<DB>;
  bus: EventBus;
}

export class ReactionsService {
  private readonly repo: ReactionsRepository;

  constructor(
    private readonly deps: ReactionsDeps,
    private readonly access: AccessService,
    private readonly messages: MessagesService,
  ) {
    this.repo = new ReactionsRepository(deps.db);
  }

  async add(actor: Actor, messageId: string, input: string): Promise<MessageView> {
    return this.change(actor, messageId, input, 'reaction.added', async (trx, message, emoji) => {
      if (message.deleted_at)
        throw new UnprocessableError('A deleted message cannot be reacted to', 'message_deleted');
      if (await this.repo.exists(messageId, actor.userId, emoji, trx)) return false;
      const present = await this.repo.distinctEmoji(messageId, trx);
      if (!present.includes(emoji) && present.length >= MAX_DISTINCT_REACTIONS) {
        throw new UnprocessableError(
          `A message can carry at most ${MAX_DISTINCT_REACTIONS} different reactions`,
          'too_many_reactions',
          { max: MAX_DISTINCT_REACTIONS },
        );
      }
      await this.repo.insert(messageId, actor.userId, emoji, trx);
      return true;
    });
  }

  async remove(actor: Actor, messageId: string, input: string): Promise<MessageView> {
    return this.change(actor, messageId, input, 'reaction.removed', (trx, _message, emoji) =>
      this.repo.delete(messageId, actor.userId, emoji, trx),
    );
  }

  /** One reaction change: `apply` says whether anything changed; only a change takes a seq and is published. */
  private async change(
    actor: Actor,
    messageId: string,
    input: string,
    type: 'reaction.added' | 'reaction.removed',
    apply: (trx: Transaction<DB>, message: LockedMessage, emoji: string) => Promise<boolean>,
  ): Promise<MessageView> {
    await this.access.requireVisibleMessage(actor.userId, messageId);
    const emoji = checkEmoji(input);
    const event = await this.deps.db.transaction().execute(async (trx) => {
      const message = await this.repo.lockMessage(messageId, trx);
      if (!message) throw new NotFoundError('Message');
      if (!(await apply(trx, message, emoji))) return undefined;
      const seq = await appendConversationEvent(trx, {
        conversation_id: message.conversation_id,
        type,
        actor_id: actor.userId,
        message_id: messageId,
        payload: { emoji, user_id: actor.userId },
      });
      return { seq, conversationId: message.conversation_id };
    });
    if (event) {
      this.deps.bus.publish(type, {
        conversation_id: event.conversationId,
        seq: event.seq,
        message_id: messageId,
        user_id: actor.userId,
        emoji,
      });
    }
    return this.view(actor, messageId);
  }

  private async view(actor: Actor, messageId: string): Promise<MessageView> {
    const view = await this.messages.repo.viewById(messageId, actor.userId);
    if (!view) throw new NotFoundError('Message');
    return this.messages.withAttachments(view);
  }
}

function checkEmoji(input: string): string {
  const emoji = normaliseEmoji(input);
  if (!emoji) throw new ValidationError('emoji must be exactly one emoji', { field: 'emoji' });
  return emoji;
}
