// External channels: inboxes (admins), idempotent sends to people outside the company, threads by participant,
// and members' normal replies in external conversations going out on the thread's channel.
import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import { LRUCache } from 'lru-cache';
import { newId } from '../../db/ids.js';
import type { ChannelKind, DB } from '../../db/schema.js';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  UnprocessableError,
  ValidationError,
} from '../../errors.js';
import type { EventBus } from '../../events/bus.js';
import { decodeCursor, encodeCursor } from '../../http/envelope.js';
import type { Actor } from '../../identity/actor.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { EventLimiter } from '../../platform/socket-rate-limits.js';
import type { AccessService } from '../access/access.service.js';
import { appendMessage } from '../messages/append-message.js';
import { FILE_TYPES } from '../messages/message-attachments.js';
import type { MessagesService } from '../messages/messages.service.js';
import { checkBody, inboxChannelOf, normaliseAddress } from './addresses.js';
import type { ChannelFilesRepository, OutboundFileRow } from './channel-files.repository.js';
import type { ChannelStatusMachine } from './channel-status.js';
import {
  channelMetadata,
  isIdCursor,
  isMessageCursor,
  toChannelMessageView,
  toInboxView,
} from './channel-views.js';
import type { ChannelMessageRow, ChannelsRepository, InboxRow, ThreadRow } from './channels.repository.js';
import type {
  ChannelMessageView,
  CreateInboxInput,
  ExternalConversationView,
  InboxView,
  ListChannelMessagesQuery,
  ListExternalConversationsQuery,
  SendChannelMessageInput,
} from './channels.schemas.js';
import { checkOutboundFiles } from './outbound-attachments.js';

export const CHANNEL_SEND_QUEUE = 'channel-send';
export interface ChannelSendJob {
  channel_message_id: string;
}

export interface ChannelsDeps {
  db: import('kysely').Kysely<DB>;
  files: ChannelFilesRepository;
  /** CHANNEL_EMAIL_ATTACHMENTS_MAX_BYTES */
  emailAttachmentsMaxBytes: number;
  bus: EventBus;
  jobs: JobQueue;
  repo: ChannelsRepository;
  access: AccessService;
  messages: MessagesService;
  status: ChannelStatusMachine;
  sendLimiter: EventLimiter;
  /** Channels with at least one provider. */
  channels: Set<ChannelKind>;
}

class DuplicateKey extends Error {}

export class ChannelsService {
  /** conversation id -> its thread, or null for internal conversations (a conversation's type never changes). */
  private readonly threads = new LRUCache<string, { thread: ThreadRow | null }>({ max: 50_000 });

  constructor(private readonly deps: ChannelsDeps) {}

  async createInbox(actor: Actor, input: CreateInboxInput): Promise<InboxView> {
    if (actor.role !== 'admin') throw new ForbiddenError('Administrators only', 'admin_required');
    const channel = inboxChannelOf(input.channel);
    const address = normaliseAddress(channel, input.address, 'address');
    const memberIds = [...new Set(input.member_ids)];
    const found = await this.deps.db
      .selectFrom('users')
      .select('id')
      .where('id', 'in', memberIds)
      .where('deactivated_at', 'is', null)
      .execute();
    if (found.length !== memberIds.length) {
      throw new UnprocessableError('member_ids must be active users', 'invalid_members', {
        field: 'member_ids',
      });
    }
    const row = await this.deps.db
      .transaction()
      .execute((trx) =>
        this.deps.repo.insertInbox(
          trx,
          { id: newId(), channel, address, name: input.name.trim(), created_by: actor.userId },
          memberIds,
        ),
      );
    if (!row)
      throw new ConflictError(`An inbox for ${address} already exists`, 'inbox_exists', { field: 'address' });
    return toInboxView({ ...row, member_ids: memberIds });
  }

  /** Admins see every inbox; others the inboxes they handle. */
  async listInboxes(actor: Actor): Promise<InboxView[]> {
    const rows = await this.deps.repo.listInboxes(actor.role === 'admin' ? undefined : actor.userId);
    return rows.map(toInboxView);
  }

  /**
   * Queues one outbound message per (user, Idempotency-Key): a retry (even concurrent) answers the first
   * message and never sends twice; the same key with another body is 409.
   */
  async send(
    actor: Actor,
    key: string,
    input: SendChannelMessageInput,
  ): Promise<{ message: ChannelMessageView; replayed: boolean }> {
    const requestHash = createHash('sha256')
      .update(
        JSON.stringify([
          input.channel,
          input.from,
          input.to,
          input.body,
          input.subject ?? null,
          input.attachments ?? [],
        ]),
      )
      .digest('hex');
    const earlier = await this.deps.repo.byKey(actor.userId, key);
    if (earlier) return this.replay(earlier, requestHash);
    const wait = await this.deps.sendLimiter.consume(actor.userId);
    if (wait > 0) throw new RateLimitedError(wait, 'Too many channel messages; try again later');

    const family = inboxChannelOf(input.channel);
    const from = normaliseAddress(family, input.from, 'from');
    const to = normaliseAddress(family, input.to, 'to');
    const fileIds = input.attachments ?? [];
    // Files make a text message an MMS (as Twilio does when a send carries MediaUrl).
    const channel: ChannelKind = input.channel === 'sms' && fileIds.length > 0 ? 'mms' : input.channel;
    const segments = checkBody(channel, input.body, fileIds.length > 0);
    if (input.subject !== undefined && input.channel !== 'email') {
      throw new ValidationError('subject is for e-mail only', { field: 'subject' });
    }
    const inbox = await this.deps.repo.inboxByAddress(family, from);
    if (!inbox || !(await this.deps.repo.isInboxMember(inbox.id, actor.userId)))
      throw new NotFoundError('Inbox');
    if (!this.deps.channels.has(channel)) {
      throw new UnprocessableError(`No provider is configured for ${channel}`, 'channel_unavailable', {
        field: 'channel',
      });
    }
    const files =
      fileIds.length === 0
        ? []
        : checkOutboundFiles(
            channel,
            fileIds,
            await this.deps.files.byIds(fileIds),
            actor.userId,
            this.deps.emailAttachmentsMaxBytes,
          );
    if (family === 'sms' && (await this.deps.repo.isOptedOut(inbox.id, to))) {
      throw new UnprocessableError(
        `${to} has opted out of messages from ${from} (STOP)`,
        'recipient_opted_out',
      );
    }

    let created: { row: ChannelMessageRow; messageId: string; thread: ThreadRow; memberIds: string[] };
    try {
      created = await this.deps.db.transaction().execute(async (trx) => {
        const { thread, created: isNew, memberIds } = await this.deps.repo.getOrCreateThread(trx, inbox, to);
        const row = await this.deps.repo.insertMessage(trx, {
          id: newId(),
          conversation_id: thread.conversation_id,
          inbox_id: inbox.id,
          direction: 'outbound',
          channel,
          from_address: from,
          to_address: to,
          subject: input.subject ?? null,
          body: input.body,
          segments,
          status: 'queued',
          created_by: actor.userId,
          idempotency_key: key,
          request_hash: requestHash,
        });
        if (!row) throw new DuplicateKey();
        const messageId = await this.queue(trx, row, actor.userId, null, files);
        return {
          row: { ...row, message_id: messageId },
          messageId,
          thread,
          memberIds: isNew ? memberIds : [],
        };
      });
    } catch (error) {
      if (!(error instanceof DuplicateKey)) throw error;
      const original = await this.deps.repo.byKey(actor.userId, key);
      if (!original) throw error;
      return this.replay(original, requestHash);
    }
    await this.afterQueued(
      created.messageId,
      created.thread.conversation_id,
      created.memberIds,
      actor.userId,
    );
    return { message: toChannelMessageView(created.row), replayed: false };
  }

  private replay(
    row: ChannelMessageRow,
    requestHash: string,
  ): { message: ChannelMessageView; replayed: boolean } {
    if (row.request_hash !== requestHash) {
      throw new ConflictError(
        'Idempotency-Key was already used for another message',
        'idempotency_key_reused',
        {
          field: 'Idempotency-Key',
        },
      );
    }
    return { message: toChannelMessageView(row), replayed: true };
  }

  /**
   * Inside the send transaction: the chat message with its files (unless the member wrote it through the messages
   * API), its `queued` event, and the durable send job. Answers the chat message id.
   */
  private async queue(
    trx: Transaction<DB>,
    row: ChannelMessageRow,
    senderId: string,
    chatMessageId: string | null,
    files: readonly OutboundFileRow[],
  ): Promise<string> {
    let messageId = chatMessageId;
    if (!messageId) {
      const type = files.length === 0 ? 'text' : files.every((f) => f.kind === 'image') ? 'image' : 'file';
      const stored = await appendMessage(trx, {
        conversation_id: row.conversation_id,
        sender_id: senderId,
        type,
        content: row.body.trim() === '' ? (row.subject ?? (files.length > 0 ? null : '(empty)')) : row.body,
        metadata: channelMetadata(row),
        client_id: null,
      });
      messageId = stored.id;
      // Locks the files and checks them again (own, ready, not being deleted), as every message with files.
      if (files.length > 0) {
        await this.deps.messages.attachments.required().attach(
          trx,
          senderId,
          messageId,
          type,
          files.map((f) => f.id),
        );
      }
    }
    await this.deps.repo.setChatMessage(trx, row.id, messageId);
    await this.deps.repo.addEvent(trx, row.id, 'queued', null, {
      by: senderId,
      ...(files.length > 0 ? { files: files.map((f) => f.id) } : {}),
    });
    await this.deps.jobs.enqueue<ChannelSendJob>(trx, CHANNEL_SEND_QUEUE, { channel_message_id: row.id });
    return messageId;
  }

  private async afterQueued(
    messageId: string,
    conversationId: string,
    newMembers: string[],
    actorId: string,
  ) {
    this.deps.jobs.kick(CHANNEL_SEND_QUEUE);
    if (newMembers.length > 0) {
      this.deps.bus.publish('conversation.created', {
        conversation_id: conversationId,
        member_ids: newMembers,
        actor_id: actorId,
      });
    }
    const message = await this.deps.messages.viewForMembers(messageId);
    if (message) this.deps.bus.publish('message.created', { message });
  }

  /** The thread of a conversation (null for internal ones), cached: a conversation never changes type. */
  async threadOf(conversationId: string, trx?: Transaction<DB>): Promise<ThreadRow | null> {
    const cached = this.threads.get(conversationId);
    if (cached) return cached.thread;
    const thread = (await this.deps.repo.threadOf(conversationId, trx)) ?? null;
    this.threads.set(conversationId, { thread });
    return thread;
  }

  /** Whether a new message in this conversation may need sending out (unknown conversations may). */
  mayBeExternal(conversationId: string): boolean {
    const cached = this.threads.get(conversationId);
    return cached === undefined || cached.thread !== null;
  }

  /**
   * Messages-service hook, inside the send transaction: a member's new text or file message in an external
   * conversation is sent to the participant on the thread's channel (files make an SMS an MMS). A refusal (too
   * long, opted out, a file MMS or e-mail cannot carry) rolls the send back.
   */
  async onMemberMessage(trx: Transaction<DB>, messageId: string, conversationId: string): Promise<void> {
    const thread = await this.threadOf(conversationId, trx);
    if (!thread) return;
    const message = await trx
      .selectFrom('messages')
      .select(['sender_id', 'type', 'content'])
      .where('id', '=', messageId)
      .executeTakeFirstOrThrow();
    if (!message.sender_id) return;
    if (message.type !== 'text' && !FILE_TYPES.has(message.type)) {
      throw new UnprocessableError(
        'Only text and file messages can be sent to an external participant',
        'channel_unsupported',
      );
    }
    const inbox = (await this.deps.repo.inboxById(thread.inbox_id, trx)) as InboxRow;
    // The messages API attached only the sender's own ready files (or, forwarding, files the sender can see).
    const attached = message.type === 'text' ? [] : await this.deps.files.ofMessage(messageId, trx);
    const channel: ChannelKind = thread.channel === 'email' ? 'email' : attached.length > 0 ? 'mms' : 'sms';
    const body = message.content ?? '';
    const segments = checkBody(channel, body, attached.length > 0);
    if (!this.deps.channels.has(channel)) {
      throw new UnprocessableError(`No provider is configured for ${channel}`, 'channel_unavailable');
    }
    const files = checkOutboundFiles(
      channel,
      attached.map((f) => f.id),
      attached,
      null,
      this.deps.emailAttachmentsMaxBytes,
    );
    if (channel !== 'email' && (await this.deps.repo.isOptedOut(inbox.id, thread.participant_address, trx))) {
      throw new UnprocessableError(
        `${thread.participant_address} has opted out (STOP)`,
        'recipient_opted_out',
      );
    }
    const subject = channel === 'email' ? await this.replySubject(trx, thread.conversation_id) : null;
    const row = await this.deps.repo.insertMessage(trx, {
      id: newId(),
      conversation_id: conversationId,
      inbox_id: inbox.id,
      direction: 'outbound',
      channel,
      from_address: inbox.address,
      to_address: thread.participant_address,
      subject,
      body,
      segments,
      status: 'queued',
      created_by: message.sender_id,
    });
    if (!row) return;
    await trx
      .updateTable('messages')
      .set({ metadata: JSON.stringify(channelMetadata(row)) })
      .where('id', '=', messageId)
      .execute();
    await this.queue(trx, row, message.sender_id, messageId, files);
  }

  private async replySubject(trx: Transaction<DB>, conversationId: string): Promise<string> {
    const last = await trx
      .selectFrom('channel_messages')
      .select('subject')
      .where('conversation_id', '=', conversationId)
      .where('subject', 'is not', null)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    const subject = last?.subject ?? '';
    if (subject === '') return 'Message from the team';
    return /^re:/i.test(subject) ? subject : `Re: ${subject}`;
  }

  /** A conversation's channel messages with their status history (members only). */
  async listMessages(
    actor: Actor,
    query: ListChannelMessagesQuery,
  ): Promise<{ items: ChannelMessageView[]; nextCursor: string | null }> {
    await this.deps.access.requireMember(actor.userId, query.conversation_id);
    const before = decodeCursor(query.cursor, isMessageCursor);
    const limit = query.limit ?? 50;
    const rows = await this.deps.repo.listForConversation(query.conversation_id, {
      status: query.status,
      before,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const events = await this.deps.repo.events(page.map((r) => r.id));
    const items = page.map((row) => ({
      ...toChannelMessageView(row),
      events: events
        .filter((e) => e.channel_message_id === row.id)
        .map((e) => ({
          status: e.status,
          provider: e.provider,
          detail: e.detail as Record<string, unknown>,
          created_at: e.created_at.toISOString(),
        })),
    }));
    const last = page.at(-1);
    const nextCursor =
      rows.length > limit && last
        ? encodeCursor({ created_at: last.created_at.toISOString(), id: last.id })
        : null;
    return { items, nextCursor };
  }

  /** External conversations the caller belongs to, optionally with one participant address. */
  async listConversations(
    actor: Actor,
    query: ListExternalConversationsQuery,
  ): Promise<{ items: ExternalConversationView[]; nextCursor: string | null }> {
    const participant = query.participant?.trim();
    const address = participant
      ? participant.includes('@')
        ? participant.toLowerCase()
        : participant
      : undefined;
    const cursor = decodeCursor(query.cursor, isIdCursor);
    const limit = query.limit ?? 50;
    const rows = await this.deps.repo.listConversations(actor.userId, {
      participant: address,
      afterId: cursor?.id,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const items = page.map((r) => ({
      conversation_id: r.conversation_id,
      inbox_id: r.inbox_id,
      inbox_address: r.inbox_address,
      external_participants: [{ address: r.participant_address, channel: r.channel }],
      last_seq: Number(r.last_seq),
      last_message_at: r.last_message_at ? r.last_message_at.toISOString() : null,
      created_at: r.created_at.toISOString(),
    }));
    const last = page.at(-1);
    return {
      items,
      nextCursor: rows.length > limit && last ? encodeCursor({ id: last.conversation_id }) : null,
    };
  }
}
