// SQL for files: rows and their lifecycle, message attachments, visibility, quotas and the orphan sweeps.
import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { DB, FilesTable } from '../../db/schema.js';

type Executor = Kysely<DB> | Transaction<DB>;
export type FileRow = Selectable<FilesTable>;
export type AttachedFileRow = FileRow & { message_id: string; position: number };

export interface NewFile {
  id: string;
  uploader_id: string;
  kind: 'image' | 'file' | 'voice';
  storage_key: string;
  filename: string;
  mime_type: string;
  size_bytes: number;
  sha256: string | null;
}

export interface ReadyFacts {
  mime_type: string;
  sha256: string;
  width: number | null;
  height: number | null;
  duration_ms: number | null;
  waveform: number[] | null;
}

export class FilesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(file: NewFile, trx: Executor = this.db): Promise<FileRow> {
    return trx.insertInto('files').values(file).returningAll().executeTakeFirstOrThrow();
  }

  findById(id: string, trx: Executor = this.db): Promise<FileRow | undefined> {
    return trx.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst();
  }

  lockById(id: string, trx: Transaction<DB>): Promise<FileRow | undefined> {
    return trx.selectFrom('files').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  }

  async markReady(id: string, facts: ReadyFacts, trx: Executor = this.db): Promise<void> {
    await trx
      .updateTable('files')
      .set({
        ...facts,
        waveform: facts.waveform === null ? null : JSON.stringify(facts.waveform),
        status: 'ready',
        ready_at: sql<Date>`now()`,
      })
      .where('id', '=', id)
      .execute();
  }

  async markFailed(id: string, trx: Executor = this.db): Promise<void> {
    await trx.updateTable('files').set({ status: 'failed' }).where('id', '=', id).execute();
  }

  async setThumbnail(id: string, key: string, trx: Executor = this.db): Promise<void> {
    await trx.updateTable('files').set({ thumbnail_key: key }).where('id', '=', id).execute();
  }

  /** Bytes a user stores (pending uploads count: they were promised). */
  async usedBytes(uploaderId: string): Promise<number> {
    const row = await this.db
      .selectFrom('files')
      .select(sql<string>`coalesce(sum(size_bytes), 0)`.as('total'))
      .where('uploader_id', '=', uploaderId)
      .where('status', '!=', 'failed')
      .executeTakeFirstOrThrow();
    return Number(row.total);
  }

  /** Whether the user currently belongs to a conversation where the file is attached to a live message. */
  async isOwnReadyImage(fileId: string, uploaderId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('files')
      .select('id')
      .where('id', '=', fileId)
      .where('uploader_id', '=', uploaderId)
      .where('status', '=', 'ready')
      .where('kind', '=', 'image')
      .where('delete_after', 'is', null)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Is the file the uploader's current avatar, or the avatar of a group the user is a member of? */
  /** The files of these messages, in attachment order. */
  async attachmentsOf(messageIds: readonly string[], trx: Executor = this.db): Promise<AttachedFileRow[]> {
    if (messageIds.length === 0) return [];
    return trx
      .selectFrom('message_attachments as a')
      .innerJoin('files as f', 'f.id', 'a.file_id')
      .selectAll('f')
      .select(['a.message_id', 'a.position'])
      .where('a.message_id', 'in', messageIds)
      .orderBy('a.message_id')
      .orderBy('a.position')
      .execute();
  }

  /** Locks the listed files for attaching (so a sweep cannot delete them mid-send). */
  lockMany(ids: readonly string[], trx: Transaction<DB>): Promise<FileRow[]> {
    return trx.selectFrom('files').selectAll().where('id', 'in', ids).forUpdate().execute();
  }

  async attach(messageId: string, fileIds: readonly string[], trx: Transaction<DB>): Promise<void> {
    await trx
      .insertInto('message_attachments')
      .values(fileIds.map((file_id, position) => ({ message_id: messageId, file_id, position })))
      .execute();
    await trx.updateTable('files').set({ delete_after: null }).where('id', 'in', fileIds).execute();
  }

  /** Live messages carrying the file (for message_updated when its thumbnail is ready). */
  messagesWith(fileId: string, trx: Executor = this.db) {
    return trx
      .selectFrom('message_attachments as a')
      .innerJoin('messages as m', 'm.id', 'a.message_id')
      .select(['m.id', 'm.conversation_id'])
      .where('a.file_id', '=', fileId)
      .where('m.deleted_at', 'is', null)
      .execute();
  }

  /**
   * Files of a deleted message that no live message carries any more: marked for deletion at `after`.
   * Returns their ids.
   */
  async scheduleDeletionFor(messageId: string, after: Date, trx: Executor = this.db): Promise<string[]> {
    const rows = await trx
      .updateTable('files')
      .set({ delete_after: after })
      .where('id', 'in', (q) =>
        q.selectFrom('message_attachments').select('file_id').where('message_id', '=', messageId),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('message_attachments as o')
              .innerJoin('messages as m', 'm.id', 'o.message_id')
              .select('o.file_id')
              .whereRef('o.file_id', '=', 'files.id')
              .where('m.deleted_at', 'is', null),
          ),
        ),
      )
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * Backstop for scheduleDeletionFor (run after the delete's commit, so a crash can miss it): files that only
   * deleted messages carry get their deletion time from the last of those deletions.
   */
  async scheduleDetached(retentionSeconds: number): Promise<number> {
    const result = await sql`
      UPDATE files AS f SET delete_after = d.last_deleted + make_interval(secs => ${retentionSeconds})
      FROM (
        SELECT a.file_id, max(m.deleted_at) AS last_deleted
        FROM message_attachments a JOIN messages m ON m.id = a.message_id
        GROUP BY a.file_id
        HAVING bool_and(m.deleted_at IS NOT NULL)
      ) AS d
      WHERE f.id = d.file_id AND f.delete_after IS NULL`.execute(this.db);
    return Number(result.numAffectedRows ?? 0);
  }

  /**
   * What the sweep removes: pending uploads older than `pendingBefore`, failed ones too, ready files never
   * attached older than `unattachedBefore` (unless a profile or group shows it as its avatar), and files whose
   * deletion time has come.
   */
  sweepable(pendingBefore: Date, unattachedBefore: Date, limit: number): Promise<FileRow[]> {
    return this.db
      .selectFrom('files')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb.and([eb('status', 'in', ['pending', 'failed']), eb('created_at', '<', pendingBefore)]),
          eb.and([
            eb('status', '=', 'ready'),
            eb('created_at', '<', unattachedBefore),
            eb.not(
              eb.exists(
                eb
                  .selectFrom('message_attachments as a')
                  .select('a.file_id')
                  .whereRef('a.file_id', '=', 'files.id'),
              ),
            ),
            eb.not(isSomeonesAvatar),
          ]),
          eb('delete_after', '<=', sql<Date>`now()`),
        ]),
      )
      .limit(limit)
      .execute();
  }

  async deleteRows(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.deleteFrom('files').where('id', 'in', ids).execute();
  }
}

// A file some profile or group points at as its avatar (the address avatars.ts accepts).
const isSomeonesAvatar = sql<boolean>`(
  EXISTS (SELECT 1 FROM users u WHERE u.avatar_url = '/api/v1/files/' || files.id || '/content')
  OR EXISTS (SELECT 1 FROM conversations c WHERE c.avatar_url = '/api/v1/files/' || files.id || '/content'))`;
