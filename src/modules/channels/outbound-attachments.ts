// Files sent to people outside the company: which of the caller's files may go (own, ready; MMS types and Twilio's
// 5 MB; the e-mail cap), and, at send time, MMS media URLs (signed, short-lived, reachable from PUBLIC_URL) or
// the e-mail attachments' bytes from file storage.
import type { ChannelKind } from '../../db/schema.js';
import { AppError, UnprocessableError } from '../../errors.js';
import type { FileStorage } from '../files/storage/storage.js';
import type { OutboundFileRow } from './channel-files.repository.js';
import type { OutboundAttachment } from './providers/provider.js';

/** Twilio: at most 10 media and 5 MB together per MMS. */
export const MMS_MAX_MEDIA = 10;
export const MMS_MAX_BYTES = 5 * 1024 * 1024;
/** How long an MMS media URL stays valid: the provider fetches it while it processes the send. */
export const MEDIA_URL_TTL_SECONDS = 15 * 60;

// Besides images, the types Twilio accepts on MMS (its "accepted content types for media" list).
const MMS_OTHER_TYPES = new Set([
  'audio/basic',
  'audio/l24',
  'audio/mp4',
  'audio/mpeg',
  'audio/ogg',
  'audio/vnd.rn-realaudio',
  'audio/vnd.wave',
  'audio/3gpp',
  'audio/3gpp2',
  'audio/ac3',
  'audio/webm',
  'audio/amr-nb',
  'audio/amr',
  'video/mpeg',
  'video/mp4',
  'video/quicktime',
  'video/webm',
  'video/3gpp',
  'video/3gpp2',
  'video/3gpp-tt',
  'video/h261',
  'video/h263',
  'video/h263-1998',
  'video/h263-2000',
  'video/h264',
  'text/vcard',
  'text/x-vcard',
  'text/csv',
  'text/rtf',
  'text/richtext',
  'text/calendar',
  'text/directory',
  'application/pdf',
  'application/vcard',
  'application/vnd.apple.pkpass',
]);

/** Whether an MMS may carry this type: images (not SVG, which is scriptable and no handset shows) and Twilio's list. */
export function mmsAccepts(contentType: string): boolean {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type.startsWith('image/')) return type !== 'image/svg+xml';
  return MMS_OTHER_TYPES.has(type);
}

const invalid = (message: string, details: Record<string, unknown> = {}) =>
  new UnprocessableError(message, 'invalid_attachment', { field: 'attachments', ...details });

/**
 * The caller's files for an outbound message, in the order given: each must exist, be the caller's own upload
 * (`ownerId`; null skips that rule for files a member's message already carries), be ready and not being
 * deleted (422 invalid_attachment, as the messages API). MMS takes Twilio's types (422
 * attachment_type_unsupported) and 5 MB together; e-mail `emailMaxBytes` together (413 attachments_too_large).
 */
export function checkOutboundFiles(
  channel: ChannelKind,
  ids: readonly string[],
  rows: readonly OutboundFileRow[],
  ownerId: string | null,
  emailMaxBytes: number,
): OutboundFileRow[] {
  if (ids.length === 0) return [];
  if (new Set(ids).size !== ids.length) throw invalid('attachments must not repeat a file');
  const byId = new Map(rows.map((r) => [r.id, r]));
  const files = ids.map((id) => {
    const row = byId.get(id);
    if (!row || (ownerId !== null && row.uploader_id !== ownerId)) {
      throw invalid(`file ${id} was not found`, { file_id: id });
    }
    if (row.status !== 'ready') {
      throw invalid(`file ${id} is not ready (complete the upload first)`, { file_id: id });
    }
    if (row.delete_after) throw invalid(`file ${id} is being deleted`, { file_id: id });
    return row;
  });
  if (channel === 'sms') throw new Error('files go by MMS: the caller makes an SMS with files an MMS');
  const total = files.reduce((sum, f) => sum + Number(f.size_bytes), 0);
  if (channel === 'mms') {
    if (files.length > MMS_MAX_MEDIA) throw invalid(`an MMS carries at most ${MMS_MAX_MEDIA} files`);
    for (const f of files) {
      if (!mmsAccepts(f.mime_type)) {
        throw new UnprocessableError(
          `${f.mime_type} cannot be sent by MMS (images, and the audio, video and document types MMS providers accept)`,
          'attachment_type_unsupported',
          { field: 'attachments', file_id: f.id, content_type: f.mime_type },
        );
      }
    }
  }
  const max = channel === 'mms' ? MMS_MAX_BYTES : emailMaxBytes;
  if (total > max) {
    throw new AppError(
      413,
      'attachments_too_large',
      `The files of one ${channel === 'mms' ? 'MMS' : 'e-mail'} may be at most ${max} bytes together`,
      { field: 'attachments', max_bytes: max, total_bytes: total },
    );
  }
  return files;
}

/** A file the provider cannot be given any more (deleted from storage): the message fails, no retry helps. */
export class AttachmentMissingError extends Error {
  constructor(readonly fileId: string) {
    super(`file ${fileId} is no longer in storage`);
    this.name = 'AttachmentMissingError';
  }
}

/** MMS: one signed download URL per file, absolute on PUBLIC_URL for the local driver (S3 URLs already are). */
export async function mediaUrls(
  storage: FileStorage,
  publicUrl: string | undefined,
  files: readonly OutboundFileRow[],
): Promise<string[]> {
  return Promise.all(
    files.map(async (f) => {
      const url = await storage.signDownload(f.storage_key, {
        contentType: f.mime_type,
        filename: f.filename,
        inline: true,
        expiresInSeconds: MEDIA_URL_TTL_SECONDS,
      });
      return /^https?:\/\//i.test(url) ? url : `${publicUrl ?? ''}${url}`;
    }),
  );
}

/** E-mail: every file's bytes from storage, with its name and type. */
export async function readAttachments(
  storage: FileStorage,
  files: readonly OutboundFileRow[],
): Promise<OutboundAttachment[]> {
  const out: OutboundAttachment[] = [];
  for (const f of files) {
    const content = await storage.read(f.storage_key);
    if (!content) throw new AttachmentMissingError(f.id);
    out.push({ filename: f.filename, contentType: f.mime_type, content });
  }
  return out;
}
