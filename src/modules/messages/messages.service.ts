// Messages: idempotent send (by client_id), replies, forwards, edits within the window, soft deletes, history.

import type { Transaction } from 'kysely';
import type { DB, MessageRow, MessageType } from '../../db/schema.js';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnprocessableError,
  ValidationError,
} from '../../errors.js';
import type { MessageView } from '../../events/domain-events.js';
import { decodeCursor, encodeCursor } from '../../http/envelope.js';
import type { Actor } from '../../identity/actor.js';
import { type AccessService, BLOCKED_MESSAGE, requireAuthorOrAdminOf } from '../access/access.service.js';
import { appendConversationEvent } from '../conversations/conversation-events.js';
import type { ServiceDeps } from '../conversations/conversations.service.js';
import { type AppendMessageInput, appendMessage, DuplicateClientIdError } from './append-message.js';
import { type AttachmentProvider, FILE_TYPES, MessageAttachments } from './message-attachments.js';
import { type StoredMessage, toMessageView } from './message-views.js';
import { MessagesRepository } from './messages.repository.js';
import { MAX_CONTENT_LENGTH, MAX_METADATA_BYTES } from './messages.schemas.js';
import { SendBatcher } from './send-batcher.js';

export interface SendMessageInput {
  content?: string | null;
  type?: Exclude<MessageType, 'system'>;
  client_id?: string;
  reply_to_id?: string | null;
  forwarded_from_id?: string;
  metadata?: Record<string, unknown>;
  /** File ids for image/file/voice messages. */
  attachments?: string[];
}

export interface EditMessageInput {
  content: string;
  metadata?: Record<string, unknown>;
}

export interface HistoryInput {
  before_seq?: number;
  after_seq?: number;
  limit?: number;
  cursor?: string;
}

/** Runs inside the transaction that stores or edits a message's content (e.g. to enqueue a link-preview job). */
export type ContentHook = (
  trx: Transaction<DB>,
  written: {
    message_id: string;
    conversation_id: string;
    content: string | null;
    kind: 'created' | 'edited';
  },
) => Promise<void>;

/** Whether a new message with this content, in this conversation, needs a content hook. */
export type HookFilter = (content: string | null, conversationId: string) => boolean;

type HistoryCursor = { before_seq: number } | { after_seq: number };

const isHistoryCursor = (v: unknown): v is HistoryCursor =>
  typeof v === 'object' &&
  v !== null &&
  (Number.isSafeInteger((v as { before_seq?: unknown }).before_seq) ||
    Number.isSafeInteger((v as { after_seq?: unknown }).after_seq));

/** Keys the server writes (mentions, link previews, polls); whatever a client sends under them is dropped. */
const SERVER_METADATA_KEYS = ['mentions', 'mention_all', 'link_preview', 'poll_id', 'channel'];

function checkMetadata(metadata: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (metadata !== undefined && Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) {
    throw new ValidationError(`metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`, {
      field: 'metadata',
    });
  }
  if (metadata === undefined) return undefined;
  const clean = { ...metadata };
  for (const key of SERVER_METADATA_KEYS) delete clean[key];
  return clean;
}

/** Trimmed text; text messages need 1..10,000 characters, other types may carry an empty caption (null). */
function normaliseContent(content: string | null | undefined, type: MessageType): string | null {
  const trimmed = content?.trim() ?? '';
  // Characters as people count them (code points), like the schema's maxLength.
  if (trimmed.length > MAX_CONTENT_LENGTH && [...trimmed].length > MAX_CONTENT_LENGTH) {
    throw new ValidationError(`content must be at most ${MAX_CONTENT_LENGTH} characters`, {
      field: 'content',
    });
  }
  if (trimmed.length === 0) {
    if (type === 'text') throw new ValidationError('content must not be empty', { field: 'content' });
    return null;
  }
  return trimmed;
}

export class MessagesService {
  readonly repo: MessagesRepository;
  private readonly contentHooks: Array<{ run: ContentHook; applies: HookFilter }> = [];
  private readonly batcher: SendBatcher;
  /** Batched writes so far: messages / batches is the mean batch size (`/metrics`). */
  readonly sendStats = { batches: 0, messages: 0 };

  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: AccessService,
    /** Shared with every service that builds message views. */
    readonly attachments: MessageAttachments = new MessageAttachments(),
  ) {
    this.repo = new MessagesRepository(deps.db);
    this.batcher = new SendBatcher({
      db: deps.db,
      // One batch in flight per instance: batches are larger, and PostgreSQL spends about 30% less CPU per
      // message than with four (bench/README.md, "One send lane").
      lanes: 1,
      needsHooks: (input) => this.needsHooks(input),
      hooks: async (trx, rows) => {
        for (const row of rows) {
          await this.runHooks(trx, {
            message_id: row.id,
            conversation_id: row.conversation_id,
            content: row.content,
            kind: 'created',
          });
        }
      },
      onBatch: (size) => {
        this.sendStats.batches++;
        this.sendStats.messages += size;
      },
    });
  }

  /**
   * Registers a hook run inside every send/edit transaction; a hook that throws rolls the write back.
   * `applies` tells from the content and conversation id whether a new message needs the hook at all (sends that need
   * no hook are written without an explicit transaction); without it every message does.
   */
  onContentWritten(hook: ContentHook, applies: HookFilter = () => true): void {
    this.contentHooks.push({ run: hook, applies });
  }

  useAttachments(provider: AttachmentProvider): void {
    this.attachments.use(provider);
  }

  /** Fills `attachments` of file messages (signed URLs); other views keep their empty list. */
  withAttachments<T extends MessageView | MessageView[]>(views: T): Promise<T> {
    return this.attachments.fill(views);
  }

  /** A message as its members see it (no per-viewer fields), attachments included; for jobs. */
  async viewForMembers(messageId: string): Promise<MessageView | undefined> {
    const view = await this.repo.viewById(messageId, null);
    return view ? this.withAttachments(view) : undefined;
  }

  private needsHooks(input: AppendMessageInput): boolean {
    return this.contentHooks.some((hook) => hook.applies(input.content, input.conversation_id));
  }

  private async runHooks(trx: Transaction<DB>, written: Parameters<ContentHook>[1]): Promise<void> {
    for (const hook of this.contentHooks) await hook.run(trx, written);
  }

  async send(
    actor: Actor,
    conversationId: string,
    input: SendMessageInput,
  ): Promise<{ message: MessageView; created: boolean }> {
    // The common case (no reply, no forward) goes straight to the batched write, which checks membership,
    // client_id and blocks itself and says why it refused a message; only what it could not decide takes the
    // checked path.
    // Messages with files take the checked path (the files are locked and linked in its transaction).
    const plain = !input.attachments && !FILE_TYPES.has(input.type ?? 'text');
    if (!input.forwarded_from_id && !input.reply_to_id && input.content !== undefined && plain) {
      const type: MessageType = input.type ?? 'text';
      const content = normaliseContent(input.content, type);
      const metadata = checkMetadata(input.metadata) ?? {};
      const fields: AppendMessageInput = {
        conversation_id: conversationId,
        sender_id: actor.userId,
        type,
        content,
        metadata,
        client_id: input.client_id ?? null,
      };
      const outcome = await this.batcher.submit(fields);
      if (outcome?.kind === 'stored') {
        const { row } = outcome;
        const message = this.needsHooks(fields)
          ? ((await this.repo.viewById(row.id, actor.userId)) as MessageView)
          : toMessageView({ ...row, reactions: [] });
        this.deps.bus.publish('message.created', { message });
        return { message, created: true };
      }
      if (outcome?.kind === 'duplicate') return this.retried(actor, conversationId, outcome.original);
      if (outcome?.reason === 'not_member') throw new NotFoundError('Conversation');
      if (outcome?.reason === 'blocked') throw new ForbiddenError(BLOCKED_MESSAGE, 'blocked');
    }
    return this.checkedSend(actor, conversationId, input);
  }

  /** One message, every check as its own query, in its own transaction: replies, forwards and refusals. */
  private async checkedSend(
    actor: Actor,
    conversationId: string,
    input: SendMessageInput,
  ): Promise<{ message: MessageView; created: boolean }> {
    const membership = await this.access.requireMember(actor.userId, conversationId);

    if (input.client_id) {
      const original = await this.repo.findByClientId(actor.userId, input.client_id);
      if (original) return this.retried(actor, conversationId, original);
    }

    let type: MessageType = input.type ?? 'text';
    let content = input.content;
    let metadata = input.metadata;
    if (input.forwarded_from_id) {
      const { message: source } = await this.access.requireVisibleMessage(
        actor.userId,
        input.forwarded_from_id,
      );
      if (source.deleted_at)
        throw new UnprocessableError('A deleted message cannot be forwarded', 'message_deleted');
      if (content === undefined || content === null) {
        type =
          input.type ??
          (source.type === 'system' || source.type === 'poll' || source.type === 'call'
            ? 'text'
            : source.type);
        content = source.content;
        metadata = metadata ?? (source.metadata as Record<string, unknown>);
      }
    } else if (content === undefined && !input.attachments) {
      throw new ValidationError('content is required', { field: 'content' });
    }
    if (input.attachments && !FILE_TYPES.has(type)) {
      throw new ValidationError('attachments need type image, file or voice', { field: 'type' });
    }
    const shareFrom = input.forwarded_from_id && !input.attachments ? input.forwarded_from_id : undefined;
    if (FILE_TYPES.has(type) && !input.attachments && !shareFrom) {
      throw new ValidationError(`a ${type} message needs attachments`, { field: 'attachments' });
    }
    const text = normaliseContent(content, type);
    metadata = checkMetadata(metadata);

    // The DM block rule, from the membership checked above (access: requireWritable).
    if (membership.dmBlocked) throw new ForbiddenError(BLOCKED_MESSAGE, 'blocked');
    if (input.reply_to_id) {
      const target = await this.repo.findById(input.reply_to_id);
      if (!target || target.conversation_id !== conversationId) {
        throw new UnprocessableError(
          'reply_to_id must be a message of the same conversation',
          'invalid_reply',
          {
            field: 'reply_to_id',
          },
        );
      }
    }

    let row: MessageRow;
    try {
      row = await this.deps.db.transaction().execute(async (trx) => {
        const stored = await appendMessage(trx, {
          conversation_id: conversationId,
          sender_id: actor.userId,
          type,
          content: text,
          metadata: metadata ?? {},
          client_id: input.client_id ?? null,
          reply_to_id: input.reply_to_id ?? null,
          forwarded_from_id: input.forwarded_from_id ?? null,
        });
        if (input.attachments) {
          await this.attachments.required().attach(trx, actor.userId, stored.id, type, input.attachments);
        } else if (shareFrom && FILE_TYPES.has(type)) {
          await this.attachments.required().share(trx, shareFrom, stored.id);
        }
        await this.runHooks(trx, {
          message_id: stored.id,
          conversation_id: conversationId,
          content: stored.content,
          kind: 'created',
        });
        return stored;
      });
    } catch (error) {
      if (!(error instanceof DuplicateClientIdError) || !input.client_id) throw error;
      // A concurrent retry won the race; our seq was rolled back with the transaction.
      const original = await this.repo.findByClientId(actor.userId, input.client_id);
      if (!original) throw error;
      return this.retried(actor, conversationId, original);
    }
    const message = await this.withAttachments(
      (await this.repo.viewById(row.id, actor.userId)) as MessageView,
    );
    this.deps.bus.publish('message.created', { message });
    return { message, created: true };
  }

  async get(actor: Actor, messageId: string): Promise<MessageView> {
    await this.access.requireVisibleMessage(actor.userId, messageId);
    const view = await this.repo.viewById(messageId, actor.userId);
    if (!view) throw new NotFoundError('Message');
    return this.withAttachments(view);
  }

  /** Newest first; `after_seq` pages forward (the next cursor continues after the newest returned). */
  async history(
    actor: Actor,
    conversationId: string,
    input: HistoryInput,
  ): Promise<{ items: MessageView[]; nextCursor: string | null }> {
    await this.access.requireMember(actor.userId, conversationId);
    const cursor = decodeCursor(input.cursor, isHistoryCursor);
    const beforeSeq = cursor && 'before_seq' in cursor ? cursor.before_seq : input.before_seq;
    const afterSeq =
      cursor && 'after_seq' in cursor ? cursor.after_seq : cursor ? undefined : input.after_seq;
    const limit = input.limit ?? 50;
    const rows = await this.repo.history(conversationId, actor.userId, {
      beforeSeq,
      afterSeq,
      limit: limit + 1,
    });
    const forward = afterSeq !== undefined && beforeSeq === undefined;
    const more = rows.length > limit;
    // Forward pages drop the newest extra row; backward pages drop the oldest.
    const items = more ? (forward ? rows.slice(1) : rows.slice(0, limit)) : rows;
    let nextCursor: string | null = null;
    if (more && items.length > 0) {
      nextCursor = forward
        ? encodeCursor({ after_seq: (items[0] as MessageView).seq })
        : encodeCursor({ before_seq: (items.at(-1) as MessageView).seq });
    }
    return { items: await this.withAttachments(items), nextCursor };
  }

  async edit(actor: Actor, messageId: string, input: EditMessageInput): Promise<MessageView> {
    const { message: row } = await this.access.requireVisibleMessage(actor.userId, messageId);
    if (row.sender_id !== actor.userId || row.type === 'system') {
      throw new ForbiddenError('Only the author can edit a message', 'not_author');
    }
    if (row.deleted_at) throw new UnprocessableError('A deleted message cannot be edited', 'message_deleted');
    const windowMs = this.deps.config.editWindowSeconds * 1000;
    if (Date.now() - row.created_at.getTime() > windowMs) {
      throw new ForbiddenError('The edit window has passed', 'edit_window_expired');
    }
    const content = normaliseContent(input.content, row.type);
    const metadata = checkMetadata(input.metadata);
    const seq = await this.deps.db.transaction().execute(async (trx) => {
      await this.repo.updateContent(messageId, content ?? '', metadata, trx);
      await this.runHooks(trx, {
        message_id: messageId,
        conversation_id: row.conversation_id,
        content,
        kind: 'edited',
      });
      return appendConversationEvent(trx, {
        conversation_id: row.conversation_id,
        type: 'message.updated',
        actor_id: actor.userId,
        message_id: messageId,
      });
    });
    const message = await this.withAttachments(
      (await this.repo.viewById(messageId, actor.userId)) as MessageView,
    );
    this.deps.bus.publish('message.updated', { conversation_id: row.conversation_id, seq, message });
    return message;
  }

  /** Soft delete by the author, or by a group admin; deleting a tombstone again changes nothing. */
  async delete(actor: Actor, messageId: string): Promise<MessageView> {
    const visible = await this.access.requireVisibleMessage(actor.userId, messageId);
    const row = visible.message;
    if (!row.deleted_at) {
      requireAuthorOrAdminOf(visible, row.sender_id, {
        message: 'Only the author or a group admin can delete this message',
        code: 'forbidden',
      });
      const seq = await this.deps.db.transaction().execute(async (trx) => {
        await this.repo.tombstone(messageId, trx);
        return appendConversationEvent(trx, {
          conversation_id: row.conversation_id,
          type: 'message.deleted',
          actor_id: actor.userId,
          message_id: messageId,
          payload: { message_id: messageId },
        });
      });
      this.deps.bus.publish('message.deleted', {
        conversation_id: row.conversation_id,
        seq,
        message_id: messageId,
      });
    }
    return (await this.repo.viewById(messageId, actor.userId)) as MessageView;
  }

  private async retried(
    actor: Actor,
    conversationId: string,
    original: Pick<StoredMessage, 'id' | 'conversation_id'>,
  ): Promise<{ message: MessageView; created: boolean }> {
    if (original.conversation_id !== conversationId) {
      throw new ConflictError('client_id was already used for another conversation', 'client_id_conflict', {
        field: 'client_id',
      });
    }
    const message = await this.withAttachments(
      (await this.repo.viewById(original.id, actor.userId)) as MessageView,
    );
    return { message, created: false };
  }
}
