// Catch-up: exactly the events a client missed after a seq, per conversation or in one batch; expired cursors get 410.
import { AppError, GoneError, NotFoundError, ValidationError } from '../../errors.js';
import type { MessageView } from '../../events/domain-events.js';
import type { Actor } from '../../identity/actor.js';
import type { ConversationsService, ServiceDeps } from '../conversations/conversations.service.js';
import { MessageAttachments } from '../messages/message-attachments.js';
import { MessagesRepository } from '../messages/messages.repository.js';
import { SyncRepository } from './sync.repository.js';

export interface EventView {
  conversation_id: string;
  seq: number;
  type: string;
  actor_id: string | null;
  message_id: string | null;
  payload: Record<string, unknown>;
  created_at: string;
}

export interface EventsPage {
  conversation_id: string;
  last_seq: number;
  events: EventView[];
  has_more: boolean;
}

export interface SyncEntry extends EventsPage {
  status: 'ok' | 'not_found' | 'cursor_expired';
}

export interface SyncResult {
  conversations: SyncEntry[];
  /** Every current membership with its last_seq, so a client sees conversations it has no cursor for. */
  memberships: Array<{ conversation_id: string; last_seq: number }>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Events whose payload carries the current message view (a deleted one shows as its tombstone). */
const MESSAGE_EVENTS = new Set(['message.created', 'message.updated', 'message.deleted']);

export class SyncService {
  readonly repo: SyncRepository;
  private readonly messages: MessagesRepository;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly conversations: ConversationsService,
    private readonly attachments: MessageAttachments = new MessageAttachments(),
  ) {
    this.repo = new SyncRepository(deps.db);
    this.messages = new MessagesRepository(deps.db);
  }

  async eventsAfter(actor: Actor, conversationId: string, afterSeq: number, limit = 50): Promise<EventsPage> {
    const { conversation } = await this.conversations.access.requireMember(actor.userId, conversationId);
    const lastSeq = Number(conversation.last_seq);
    if (afterSeq >= lastSeq)
      return { conversation_id: conversationId, last_seq: lastSeq, events: [], has_more: false };
    const oldest = await this.repo.oldestSeq(conversationId);
    // Everything after the cursor must still be stored: the first missing seq is afterSeq + 1.
    const firstRetained = oldest ?? lastSeq + 1;
    if (afterSeq + 1 < firstRetained) {
      throw new GoneError(
        'Events after this seq are no longer kept; reload the conversation',
        'cursor_expired',
      );
    }
    const rows = await this.repo.eventsAfter(conversationId, afterSeq, limit + 1);
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const messageIds = page.flatMap((e) =>
      e.message_id && MESSAGE_EVENTS.has(e.type) ? [e.message_id] : [],
    );
    const views = new Map<string, MessageView>(
      (await this.attachments.fill(await this.messages.viewsByIds(messageIds, actor.userId))).map((m) => [
        m.id,
        m,
      ]),
    );
    const events = page.map((e) => {
      const payload = { ...((e.payload ?? {}) as Record<string, unknown>) };
      const message = e.message_id && MESSAGE_EVENTS.has(e.type) ? views.get(e.message_id) : undefined;
      if (message) payload.message = message;
      return {
        conversation_id: e.conversation_id,
        seq: Number(e.seq),
        type: e.type,
        actor_id: e.actor_id,
        message_id: e.message_id,
        payload,
        created_at: e.created_at.toISOString(),
      };
    });
    return { conversation_id: conversationId, last_seq: lastSeq, events, has_more: more };
  }

  /** Batch catch-up; a bad cursor fails only its own entry (status not_found / cursor_expired). */
  async sync(actor: Actor, cursors: Record<string, number>, limit = 50): Promise<SyncResult> {
    const invalid = Object.keys(cursors).find((id) => !UUID.test(id));
    if (invalid !== undefined) {
      throw new ValidationError('cursors keys must be conversation ids', {
        field: `cursors.${invalid.slice(0, 64)}`,
      });
    }
    const conversations: SyncEntry[] = [];
    for (const [conversationId, afterSeq] of Object.entries(cursors)) {
      try {
        conversations.push({
          status: 'ok',
          ...(await this.eventsAfter(actor, conversationId, afterSeq, limit)),
        });
      } catch (error) {
        if (
          !(error instanceof NotFoundError || (error instanceof AppError && error.code === 'cursor_expired'))
        ) {
          throw error;
        }
        conversations.push({
          status: error instanceof NotFoundError ? 'not_found' : 'cursor_expired',
          conversation_id: conversationId,
          last_seq: 0,
          events: [],
          has_more: false,
        });
      }
    }
    const memberships = await this.conversations.members.membershipSeqs(actor.userId);
    return { conversations, memberships };
  }

  /** Drops events older than EVENT_RETENTION_DAYS (messages themselves stay). */
  prune(): Promise<number> {
    return this.repo.pruneOlderThan(this.deps.config.eventRetentionDays);
  }
}
