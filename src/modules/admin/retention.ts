// Retention: the periodic deletion of messages, catch-up events and files older than the retention settings
// (server_settings over MESSAGE_/EVENT_/FILE_RETENTION_DAYS; admins change them at /admin/settings/retention).
import { type Kysely, sql } from 'kysely';
import type { Config } from '../../config.js';
import type { DB } from '../../db/schema.js';
import { SyncRepository } from '../sync/sync.repository.js';
import { ServerSettings } from './settings.js';

/** Rows deleted per statement, so a first run over years of history does not hold one huge transaction. */
const BATCH = 1000;

export interface RetentionResult {
  messages: number;
  events: number;
  files: number;
}

export class Retention {
  private readonly settings: ServerSettings;

  constructor(
    private readonly db: Kysely<DB>,
    config: Config,
  ) {
    this.settings = new ServerSettings(db, config);
  }

  /** One pass of every policy; `now` is for tests. */
  async run(now = new Date()): Promise<RetentionResult> {
    const policy = await this.settings.retention();
    const cutoff = (days: number) => new Date(now.getTime() - days * 86_400_000);
    return {
      messages: policy.message_days === null ? 0 : await this.deleteMessages(cutoff(policy.message_days)),
      events: await new SyncRepository(this.db).pruneOlderThanDate(cutoff(policy.event_days)),
      files: policy.file_days === null ? 0 : await this.expireFiles(cutoff(policy.file_days)),
    };
  }

  /**
   * Messages sent before `before` are deleted outright (reactions, pins, poll and attachments go with them; their
   * events stay until the event retention removes them). Their files lose the attachment and the file sweep
   * removes them like any other unattached upload.
   */
  private async deleteMessages(before: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await this.db
        .deleteFrom('messages')
        .where('id', 'in', (eb) =>
          eb.selectFrom('messages').select('id').where('created_at', '<', before).limit(BATCH),
        )
        .executeTakeFirst();
      const n = Number(result.numDeletedRows);
      total += n;
      if (n < BATCH) return total;
    }
  }

  /** Files uploaded before `before` are scheduled for the sweep, which removes the object and then the row. */
  private async expireFiles(before: Date): Promise<number> {
    const result = await this.db
      .updateTable('files')
      .set({ delete_after: sql<Date>`now()` })
      .where('created_at', '<', before)
      .where('delete_after', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}
