// Background work on files: WebP thumbnails (then message_updated), deletion after a message is deleted, and the
// orphan sweep (pending > 1 h, never attached > 24 h, deletion time reached), in either storage driver.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../../db/schema.js';
import type { EventBus } from '../../events/bus.js';
import type { MessageView } from '../../events/domain-events.js';
import { appendConversationEvent } from '../conversations/conversation-events.js';
import type { FilesRepository } from './files.repository.js';
import { type ThumbnailJob, thumbnailKeyOf } from './files.service.js';
import { makeThumbnail } from './media.js';
import type { FileStorage } from './storage/storage.js';

export const SWEEP_QUEUE = 'file-sweep';
export const PENDING_MAX_AGE_MS = 3600_000;
export const UNATTACHED_MAX_AGE_MS = 24 * 3600_000;
const SWEEP_BATCH = 500;

export interface FileJobsDeps {
  db: Kysely<DB>;
  bus: EventBus;
  logger: Logger;
  repo: FilesRepository;
  storage: FileStorage;
  /** FILE_RETENTION_AFTER_DELETE */
  retentionSeconds: number;
  /** The message view (with attachments) as its members see it. */
  messageView: (messageId: string) => Promise<MessageView | undefined>;
}

export class FileJobs {
  constructor(private readonly deps: FileJobsDeps) {}

  /** Makes the thumbnail (idempotent: a retry overwrites the same key) and announces the messages carrying it. */
  async thumbnail(job: ThumbnailJob): Promise<void> {
    const file = await this.deps.repo.findById(job.file_id);
    if (file?.status !== 'ready' || file.thumbnail_key) return;
    const bytes = await this.deps.storage.read(file.storage_key);
    if (!bytes) return;
    let thumb: Buffer;
    try {
      thumb = await makeThumbnail(bytes);
    } catch (err) {
      this.deps.logger.info({ err, file: file.id }, 'no thumbnail for this image');
      return;
    }
    const key = thumbnailKeyOf(file.id);
    await this.deps.storage.write(key, thumb, 'image/webp');
    const announced = await this.deps.db.transaction().execute(async (trx) => {
      await this.deps.repo.setThumbnail(file.id, key, trx);
      const messages = await this.deps.repo.messagesWith(file.id, trx);
      const out: Array<{ id: string; conversation_id: string; seq: number }> = [];
      for (const message of messages) {
        const seq = await appendConversationEvent(trx, {
          conversation_id: message.conversation_id,
          type: 'message.updated',
          actor_id: null,
          message_id: message.id,
          payload: { reason: 'thumbnail', file_id: file.id },
        });
        out.push({ ...message, seq });
      }
      return out;
    });
    for (const { id, conversation_id, seq } of announced) {
      const message = await this.deps.messageView(id);
      if (message) this.deps.bus.publish('message.updated', { conversation_id, seq, message });
    }
  }

  /** Removes objects first, then rows: a crash in between leaves rows the next sweep finishes. */
  async sweep(now = Date.now()): Promise<number> {
    await this.deps.repo.scheduleDetached(this.deps.retentionSeconds);
    let removed = 0;
    for (;;) {
      const rows = await this.deps.repo.sweepable(
        new Date(now - PENDING_MAX_AGE_MS),
        new Date(now - UNATTACHED_MAX_AGE_MS),
        SWEEP_BATCH,
      );
      if (rows.length === 0) return removed;
      const keys = rows.flatMap((r) =>
        r.thumbnail_key ? [r.storage_key, r.thumbnail_key] : [r.storage_key],
      );
      // A pending upload may have left a thumbnail-less object, a failed one nothing: deleting is idempotent.
      await this.deps.storage.delete(keys);
      await this.deps.repo.deleteRows(rows.map((r) => r.id));
      removed += rows.length;
      if (rows.length < SWEEP_BATCH) return removed;
    }
  }
}
