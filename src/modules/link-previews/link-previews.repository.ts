// SQL for link previews: the per-URL cache, and writing a preview into a message's metadata.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';

type Executor = Kysely<DB> | Transaction<DB>;

export interface LinkPreviewRow {
  url: string;
  status: 'ok' | 'failed';
  title: string | null;
  description: string | null;
  image_url: string | null;
  site_name: string | null;
  error: string | null;
  fetched_at: Date;
}

export class LinkPreviewsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The cached result for a URL if fetched within maxAgeSeconds. */
  findFresh(
    url: string,
    maxAgeSeconds: number,
    trx: Executor = this.db,
  ): Promise<LinkPreviewRow | undefined> {
    return trx
      .selectFrom('link_previews')
      .selectAll()
      .where('url', '=', url)
      .where('fetched_at', '>', sql<Date>`now() - make_interval(secs => ${maxAgeSeconds})`)
      .executeTakeFirst() as Promise<LinkPreviewRow | undefined>;
  }

  async upsert(row: Omit<LinkPreviewRow, 'fetched_at'>, trx: Executor = this.db): Promise<void> {
    const { url, ...rest } = row;
    await trx
      .insertInto('link_previews')
      .values(row)
      .onConflict((oc) => oc.column('url').doUpdateSet({ ...rest, fetched_at: sql<Date>`now()` }))
      .execute();
  }

  /** Locks the message row for the metadata update; undefined when it is gone. */
  lockMessage(id: string, trx: Transaction<DB>) {
    return trx
      .selectFrom('messages')
      .select(['id', 'conversation_id', 'content', 'deleted_at', 'metadata'])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
  }

  async setMessagePreview(id: string, preview: Record<string, unknown>, trx: Transaction<DB>): Promise<void> {
    await trx
      .updateTable('messages')
      .set({
        metadata: sql`metadata || jsonb_build_object('link_preview', ${JSON.stringify(preview)}::jsonb)`,
      })
      .where('id', '=', id)
      .execute();
  }
}
