// SQL of outbound channel files: the files a send names, and the files a message carries (in attachment order).
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';

type Executor = Kysely<DB> | Transaction<DB>;

export interface OutboundFileRow {
  id: string;
  uploader_id: string | null;
  kind: 'image' | 'file' | 'voice';
  storage_key: string;
  filename: string;
  mime_type: string;
  size_bytes: number;
  status: 'pending' | 'ready' | 'failed';
  delete_after: Date | null;
}

const COLUMNS = [
  'f.id',
  'f.uploader_id',
  'f.kind',
  'f.storage_key',
  'f.filename',
  'f.mime_type',
  'f.size_bytes',
  'f.status',
  'f.delete_after',
] as const;

export class ChannelFilesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async byIds(ids: readonly string[], trx: Executor = this.db): Promise<OutboundFileRow[]> {
    if (ids.length === 0) return [];
    const rows = await trx
      .selectFrom('files as f')
      .select(COLUMNS)
      .where('f.id', 'in', [...ids])
      .execute();
    return rows.map(normalise);
  }

  async ofMessage(messageId: string, trx: Executor = this.db): Promise<OutboundFileRow[]> {
    const rows = await trx
      .selectFrom('message_attachments as a')
      .innerJoin('files as f', 'f.id', 'a.file_id')
      .select(COLUMNS)
      .where('a.message_id', '=', messageId)
      .orderBy('a.position')
      .execute();
    return rows.map(normalise);
  }
}

function normalise(row: {
  id: string;
  uploader_id: string | null;
  kind: 'image' | 'file' | 'voice';
  storage_key: string;
  filename: string;
  mime_type: string;
  size_bytes: number | string;
  status: 'pending' | 'ready' | 'failed';
  delete_after: Date | string | null;
}): OutboundFileRow {
  return {
    ...row,
    size_bytes: Number(row.size_bytes),
    delete_after: row.delete_after === null ? null : new Date(row.delete_after),
  };
}
