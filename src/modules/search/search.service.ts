// Search rules: who may find what (current members, after joining, never deleted), query parsing and paging.

import { ValidationError } from '../../errors.js';
import type { MessageView } from '../../events/domain-events.js';
import { decodeCursor, encodeCursor } from '../../http/envelope.js';
import type { Actor } from '../../identity/actor.js';
import type { AccessService } from '../access/access.service.js';
import type { ServiceDeps } from '../conversations/conversations.service.js';
import { MessageAttachments } from '../messages/message-attachments.js';
import { MessagesRepository } from '../messages/messages.repository.js';
import { HIGHLIGHT_START, HIGHLIGHT_STOP, SearchRepository } from './search.repository.js';
import type { ConversationHit, MessageSearchQuery } from './search.schemas.js';

export interface MessageHitView {
  message: MessageView;
  highlight: string;
}

export interface SearchPage<T> {
  items: T[];
  nextCursor: string | null;
}

const isIdCursor = (v: unknown): v is { b: string } =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { b?: unknown }).b === 'string' &&
  /^[0-9a-f-]{36}$/i.test((v as { b: string }).b);
const isOffsetCursor = (v: unknown): v is { o: number } =>
  typeof v === 'object' &&
  v !== null &&
  Number.isInteger((v as { o?: unknown }).o) &&
  (v as { o: number }).o >= 0;

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** HTML-escapes the snippet, then turns the private-use markers into <mark> tags. */
export function renderHighlight(snippet: string): string {
  return snippet
    .replace(/[&<>"']/g, (c) => ESCAPES[c] as string)
    .replaceAll(HIGHLIGHT_START, '<mark>')
    .replaceAll(HIGHLIGHT_STOP, '</mark>');
}

/**
 * Whether the last word of a web-search query should also match as a prefix ("deplo" finds "deploy"):
 * it must be a plain word of 2+ characters, not negated and not inside or closing a phrase.
 */
export function wantsPrefix(query: string): boolean {
  const trimmed = query.trim();
  if ((trimmed.match(/"/g)?.length ?? 0) % 2 === 1) return false;
  const last = trimmed.split(/\s+/).at(-1) ?? '';
  if (last.startsWith('-') || last.includes('"') || last.toLowerCase() === 'or') return false;
  const word = /[\p{L}\p{N}]+$/u.exec(last)?.[0] ?? '';
  return word.length >= 2;
}

export class SearchService {
  private readonly repo: SearchRepository;
  private readonly messages: MessagesRepository;

  constructor(
    deps: ServiceDeps,
    private readonly access: AccessService,
    private readonly attachments: MessageAttachments = new MessageAttachments(),
  ) {
    this.repo = new SearchRepository(deps.db);
    this.messages = new MessagesRepository(deps.db);
  }

  async messagesFor(actor: Actor, input: MessageSearchQuery): Promise<SearchPage<MessageHitView>> {
    const query = input.q.trim();
    if (query.length === 0) throw new ValidationError('q must not be blank', { field: 'q' });
    if (input.conversation_id) await this.access.requireMember(actor.userId, input.conversation_id);
    const from = input.from ? new Date(input.from) : undefined;
    const to = input.to ? new Date(input.to) : undefined;
    if (from && to && from >= to) throw new ValidationError('from must be before to', { field: 'from' });
    const cursor = decodeCursor(input.cursor, isIdCursor);
    const rows = await this.repo.searchMessages({
      userId: actor.userId,
      query,
      prefix: wantsPrefix(query),
      conversationId: input.conversation_id,
      senderId: input.sender_id,
      type: input.type,
      from,
      to,
      beforeId: cursor?.b,
      limit: input.limit + 1,
    });
    const pageRows = rows.slice(0, input.limit);
    const views = await this.attachments.fill(
      await this.messages.viewsByIds(
        pageRows.map((r) => r.id),
        actor.userId,
      ),
    );
    const byId = new Map(views.map((v) => [v.id, v]));
    const items = pageRows.flatMap((r) => {
      const message = byId.get(r.id);
      return message ? [{ message, highlight: renderHighlight(r.highlight) }] : [];
    });
    const last = pageRows.at(-1);
    const nextCursor = rows.length > input.limit && last ? encodeCursor({ b: last.id }) : null;
    return { items, nextCursor };
  }

  async conversationsFor(
    actor: Actor,
    q: string,
    limit: number,
    cursor?: string,
  ): Promise<SearchPage<ConversationHit>> {
    const text = q.trim();
    if (text.length === 0) throw new ValidationError('q must not be blank', { field: 'q' });
    const offset = decodeCursor(cursor, isOffsetCursor)?.o ?? 0;
    const rows = await this.repo.searchConversations(actor.userId, text, limit + 1, offset);
    const items = rows.slice(0, limit).map(
      (r): ConversationHit => ({
        id: r.id,
        type: r.type,
        name: r.name,
        avatar_url: r.avatar_url,
        last_seq: Number(r.last_seq),
        last_message_at: r.last_message_at ? r.last_message_at.toISOString() : null,
        partner:
          r.type === 'dm' && r.partner_id && r.partner_username
            ? {
                id: r.partner_id,
                username: r.partner_username,
                display_name: r.partner_display_name,
                avatar_url: r.partner_avatar_url,
              }
            : null,
      }),
    );
    return { items, nextCursor: rows.length > limit ? encodeCursor({ o: offset + limit }) : null };
  }
}
