// Files: signed direct uploads, completion (sniff, size, sha256, dimensions/duration), visibility, signed
// downloads, and attaching files to messages (only the sender's own ready files).
import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { StorageConfig } from '../../config.js';
import { newId } from '../../db/ids.js';
import type { DB } from '../../db/schema.js';
import { AppError, NotFoundError, RateLimitedError, UnprocessableError } from '../../errors.js';
import type { Actor } from '../../identity/actor.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { EventLimiter } from '../../platform/socket-rate-limits.js';
import type { AccessService } from '../access/access.service.js';
import type { AttachedFileRow, FileRow, FilesRepository } from './files.repository.js';
import type { CompleteBody, FileKind, FileView, UploadUrlBody } from './files.schemas.js';
import { FileRejected, inspect, isAllowed, servedInline } from './media.js';
import type { FileStorage, SignedUpload } from './storage/storage.js';

export const THUMBNAIL_QUEUE = 'file-thumbnail';
export const UPLOAD_URL_TTL_SECONDS = 15 * 60;
export const MAX_ATTACHMENTS = 10;

export interface ThumbnailJob {
  file_id: string;
}

export interface FilesDeps {
  db: Kysely<DB>;
  /** Who sees a file (AccessService.requireVisibleFile). */
  access: Pick<AccessService, 'requireVisibleFile'>;
  jobs: JobQueue;
  logger: Logger;
  repo: FilesRepository;
  storage: FileStorage;
  limits: StorageConfig;
  uploadLimiter: EventLimiter;
}

export const thumbnailKeyOf = (fileId: string) => `${fileId}-thumb.webp`;

export class FilesService {
  constructor(readonly deps: FilesDeps) {}

  /** Step 1: a pending file row and a signed PUT URL valid for 15 minutes. */
  async createUpload(actor: Actor, input: UploadUrlBody): Promise<{ file: FileView; upload: SignedUpload }> {
    const wait = await this.deps.uploadLimiter.consume(actor.userId);
    if (wait > 0) throw new RateLimitedError(wait, 'Too many uploads; try again later');
    const { limits } = this.deps;
    if (input.size > limits.fileMaxBytes) {
      throw new AppError(413, 'file_too_large', `Files may be at most ${limits.fileMaxBytes} bytes`, {
        field: 'size',
        max_bytes: limits.fileMaxBytes,
      });
    }
    if (!isAllowed(input.kind, input.content_type)) {
      throw new UnprocessableError(
        `${input.content_type} is not accepted for a ${input.kind}`,
        'unsupported_content_type',
        { field: 'content_type' },
      );
    }
    if (limits.userQuotaBytes !== undefined) {
      const used = await this.deps.repo.usedBytes(actor.userId);
      if (used + input.size > limits.userQuotaBytes) {
        throw new AppError(413, 'quota_exceeded', 'Your storage quota is used up', {
          used_bytes: used,
          quota_bytes: limits.userQuotaBytes,
        });
      }
    }
    const id = newId();
    const contentType = input.content_type.toLowerCase();
    const row = await this.deps.repo.insert({
      id,
      uploader_id: actor.userId,
      kind: input.kind,
      storage_key: id,
      filename: cleanName(input.name),
      mime_type: contentType,
      size_bytes: input.size,
      sha256: input.sha256?.toLowerCase() ?? null,
    });
    const upload = await this.deps.storage.signUpload(row.storage_key, {
      contentType,
      size: input.size,
      expiresInSeconds: UPLOAD_URL_TTL_SECONDS,
    });
    return { file: await this.view(row), upload };
  }

  /**
   * Step 3 (after the PUT): checks the stored object and marks the file ready, or failed (object deleted,
   * 422 file_rejected). Completing a ready file again returns it.
   */
  async complete(actor: Actor, fileId: string, input: CompleteBody): Promise<FileView> {
    const file = await this.ownFile(actor, fileId);
    if (file.status === 'ready') return this.view(file);
    if (file.status === 'failed') throw new UnprocessableError('This upload was rejected', 'file_rejected');
    const size = await this.deps.storage.size(file.storage_key);
    if (size === undefined) {
      throw new AppError(409, 'upload_missing', 'Nothing was uploaded for this file yet; PUT it first');
    }
    let facts: Awaited<ReturnType<FilesService['check']>>;
    try {
      facts = await this.check(file, size, input);
    } catch (error) {
      if (!(error instanceof FileRejected)) throw error;
      await this.deps.storage.delete([file.storage_key]);
      await this.deps.repo.markFailed(file.id);
      throw new UnprocessableError(`The file was rejected: ${error.reason}`, 'file_rejected', {
        reason: error.reason,
      });
    }
    await this.deps.db.transaction().execute(async (trx) => {
      const locked = await this.deps.repo.lockById(file.id, trx);
      if (locked?.status !== 'pending') return;
      await this.deps.repo.markReady(file.id, facts.ready, trx);
      if (facts.thumbnail) {
        await this.deps.jobs.enqueue<ThumbnailJob>(trx, THUMBNAIL_QUEUE, { file_id: file.id });
      }
    });
    if (facts.thumbnail) this.deps.jobs.kick(THUMBNAIL_QUEUE);
    return this.view((await this.deps.repo.findById(file.id)) as FileRow);
  }

  private async check(file: FileRow, size: number, input: CompleteBody) {
    if (size !== file.size_bytes) throw new FileRejected(`${size} bytes stored, ${file.size_bytes} declared`);
    const bytes = await this.deps.storage.read(file.storage_key);
    if (!bytes || bytes.length !== file.size_bytes) throw new FileRejected('the upload is incomplete');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (file.sha256 && file.sha256 !== sha256) throw new FileRejected('sha256 does not match');
    const inspected = await inspect(file.kind, file.mime_type, bytes, this.deps.limits);
    const waveform = file.kind === 'voice' ? (inspected.waveform ?? input.waveform ?? null) : null;
    return {
      thumbnail: inspected.thumbnail,
      ready: {
        mime_type: inspected.contentType,
        sha256,
        width: inspected.width,
        height: inspected.height,
        duration_ms: inspected.durationMs,
        waveform,
      },
    };
  }

  /**
   * The file view with fresh signed URLs, for its uploader, members where it is attached, and those who see it as
   * an avatar; others 404.
   */
  async get(actor: Actor, fileId: string): Promise<FileView> {
    return this.view(await this.visibleFile(actor, fileId));
  }

  /** A fresh signed URL of the content or thumbnail (the 302 target); 404 while there is none. */
  async signedUrl(actor: Actor, fileId: string, which: 'content' | 'thumbnail'): Promise<string> {
    const view = await this.get(actor, fileId);
    const url = which === 'content' ? view.url : view.thumbnail_url;
    if (!url) throw new NotFoundError(which === 'content' ? 'File content' : 'Thumbnail');
    return url;
  }

  async visibleFile(actor: Actor, fileId: string): Promise<FileRow> {
    return this.deps.access.requireVisibleFile(actor.userId, await this.deps.repo.findById(fileId));
  }

  private async ownFile(actor: Actor, fileId: string): Promise<FileRow> {
    const file = await this.deps.repo.findById(fileId);
    if (!file || file.uploader_id !== actor.userId) throw new NotFoundError('File');
    return file;
  }

  // ---- messages ----

  /**
   * Inside the send transaction: links the sender's own ready files to the message. The kind must suit the
   * message type (an `image` message carries images, a `voice` message one voice note).
   */
  async attach(
    trx: Transaction<DB>,
    senderId: string,
    messageId: string,
    type: string,
    fileIds: readonly string[],
  ): Promise<void> {
    const unique = [...new Set(fileIds)];
    if (unique.length !== fileIds.length) throw invalidAttachment('attachments must not repeat a file');
    const rows = await this.deps.repo.lockMany(unique, trx);
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of unique) {
      const row = byId.get(id);
      if (!row || row.uploader_id !== senderId) throw invalidAttachment(`file ${id} was not found`);
      if (row.status !== 'ready')
        throw invalidAttachment(`file ${id} is not ready (complete the upload first)`);
      if (row.delete_after) throw invalidAttachment(`file ${id} is being deleted`);
      if (!kindFits(type, row.kind))
        throw invalidAttachment(`a ${row.kind} cannot be attached to a ${type} message`);
    }
    if (type === 'voice' && unique.length !== 1)
      throw invalidAttachment('a voice message carries one voice note');
    await this.deps.repo.attach(messageId, unique, trx);
  }

  /** Forwarding: the new message carries the same (shared) files as the source. */
  async share(trx: Transaction<DB>, sourceMessageId: string, messageId: string): Promise<boolean> {
    const rows = await this.deps.repo.attachmentsOf([sourceMessageId], trx);
    if (rows.length === 0) return false;
    await this.deps.repo.attach(
      messageId,
      rows.map((r) => r.id),
      trx,
    );
    return true;
  }

  /** Attachment views per message id (messages without files are absent). */
  async viewsFor(messageIds: readonly string[]): Promise<Map<string, FileView[]>> {
    const rows = await this.deps.repo.attachmentsOf(messageIds);
    const out = new Map<string, FileView[]>();
    const views = await Promise.all(rows.map((row) => this.view(row)));
    rows.forEach((row: AttachedFileRow, i) => {
      const list = out.get(row.message_id) ?? [];
      list.push(views[i] as FileView);
      out.set(row.message_id, list);
    });
    return out;
  }

  /** The file view; URLs are signed only for ready files. */
  async view(row: FileRow): Promise<FileView> {
    const ready = row.status === 'ready';
    const ttl = this.deps.limits.signingTtlSeconds;
    const url = ready
      ? await this.deps.storage.signDownload(row.storage_key, {
          contentType: row.mime_type,
          filename: row.filename,
          inline: servedInline(row.mime_type),
          expiresInSeconds: ttl,
        })
      : null;
    const thumbnailUrl =
      ready && row.thumbnail_key
        ? await this.deps.storage.signDownload(row.thumbnail_key, {
            contentType: 'image/webp',
            filename: `${row.filename.replace(/\.[^.]*$/, '')}.webp`,
            inline: true,
            expiresInSeconds: ttl,
          })
        : null;
    return {
      id: row.id,
      kind: row.kind,
      name: row.filename,
      size: row.size_bytes,
      content_type: row.mime_type,
      sha256: row.status === 'ready' ? row.sha256 : null,
      status: row.status,
      width: row.width,
      height: row.height,
      duration_ms: row.duration_ms,
      waveform: row.waveform,
      url,
      thumbnail_url: thumbnailUrl,
      created_at: row.created_at.toISOString(),
    };
  }
}

function kindFits(type: string, kind: FileKind): boolean {
  if (type === 'image') return kind === 'image';
  if (type === 'voice') return kind === 'voice';
  return type === 'file';
}

const invalidAttachment = (message: string) =>
  new UnprocessableError(message, 'invalid_attachment', { field: 'attachments' });

/** A display name without path parts or control characters. */
function cleanName(name: string): string {
  const last = name.split(/[\\/]/).pop() ?? '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const clean = last.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return clean.slice(0, 255) || 'file';
}
