// Inbound MMS media and e-mail attachments into file storage: fetched through the SSRF-safe fetcher (private and
// loopback addresses refused unless allowlisted), sniffed, stored as ready files and attached to the message.
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { StorageConfig } from '../../config.js';
import { newId } from '../../db/ids.js';
import type { DB } from '../../db/schema.js';
import type { EventBus } from '../../events/bus.js';
import { appendConversationEvent } from '../conversations/conversation-events.js';
import { FileRejected, inspect } from '../files/media.js';
import type { FileStorage } from '../files/storage/storage.js';
import { fetchBinary } from '../link-previews/link-fetcher.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { ChannelsRepository } from './channels.repository.js';

export interface MediaItem {
  filename: string;
  contentType: string;
  content: Buffer;
}

export interface InboundMediaDeps {
  db: Kysely<DB>;
  bus: EventBus;
  logger: Logger;
  repo: ChannelsRepository;
  messages: MessagesService;
  storage: FileStorage;
  limits: StorageConfig;
  /** Hosts fetched without address filtering (LINK_PREVIEW_ALLOWLIST: tests, on-premises gateways). */
  allowlist: readonly string[];
}

const EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

export class InboundMedia {
  constructor(private readonly deps: InboundMediaDeps) {}

  /** MMS: fetches every URL (each at most FILE_MAX_BYTES) and stores them on the message. */
  async fetchAndStore(channelMessageId: string, urls: string[]): Promise<void> {
    const items: MediaItem[] = [];
    for (const [i, url] of urls.entries()) {
      const fetched = await fetchBinary(url, {
        allowlist: this.deps.allowlist,
        maxBytes: this.deps.limits.fileMaxBytes,
        timeoutMs: 15_000,
      });
      const type = fetched.contentType.split(';')[0]?.trim() || 'application/octet-stream';
      items.push({
        filename: `media-${i + 1}.${EXTENSIONS[type] ?? 'bin'}`,
        contentType: type,
        content: fetched.body,
      });
    }
    await this.store(channelMessageId, items);
  }

  /** Stores the files and attaches them to the channel message's chat message (image when all are images). */
  async store(channelMessageId: string, items: MediaItem[]): Promise<string[]> {
    const row = await this.deps.repo.byId(channelMessageId);
    if (!row?.message_id || items.length === 0) return [];
    const messageId = row.message_id;
    const already = await this.deps.db
      .selectFrom('message_attachments')
      .select('file_id')
      .where('message_id', '=', messageId)
      .execute();
    if (already.length > 0) return already.map((a) => a.file_id);
    const stored: Array<{ id: string; image: boolean }> = [];
    for (const item of items.slice(0, 10)) {
      if (item.content.length === 0 || item.content.length > this.deps.limits.fileMaxBytes) continue;
      let kind: 'image' | 'file' = item.contentType.startsWith('image/') ? 'image' : 'file';
      let facts: Awaited<ReturnType<typeof inspect>>;
      try {
        facts = await inspect(kind, item.contentType, item.content, this.deps.limits);
      } catch (error) {
        if (!(error instanceof FileRejected)) throw error;
        kind = 'file';
        facts = await inspect('file', 'application/octet-stream', item.content, this.deps.limits);
      }
      const id = newId();
      await this.deps.storage.write(id, item.content, facts.contentType);
      await this.deps.db
        .insertInto('files')
        .values({
          id,
          uploader_id: null,
          conversation_id: row.conversation_id,
          kind,
          storage_key: id,
          filename: item.filename.replace(/[/\\\0]/g, '_').slice(0, 200) || 'attachment',
          mime_type: facts.contentType,
          size_bytes: item.content.length,
          width: facts.width,
          height: facts.height,
          status: 'ready',
          ready_at: new Date(),
          sha256: createHash('sha256').update(item.content).digest('hex'),
        })
        .execute();
      stored.push({ id, image: kind === 'image' });
    }
    if (stored.length === 0) return [];
    const type = stored.every((f) => f.image) ? 'image' : 'file';
    const seq = await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('message_attachments')
        .values(stored.map((f, position) => ({ message_id: messageId, file_id: f.id, position })))
        .execute();
      await trx.updateTable('messages').set({ type }).where('id', '=', messageId).execute();
      await this.deps.repo.addEvent(trx, row.id, 'media_stored', row.provider, { files: stored.length });
      return appendConversationEvent(trx, {
        conversation_id: row.conversation_id,
        type: 'message.updated',
        actor_id: null,
        message_id: messageId,
        payload: { attachments: stored.length },
      });
    });
    const message = await this.deps.messages.viewForMembers(messageId);
    if (message)
      this.deps.bus.publish('message.updated', { conversation_id: row.conversation_id, seq, message });
    return stored.map((f) => f.id);
  }
}
