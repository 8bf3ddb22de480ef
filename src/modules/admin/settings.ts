// Server settings admins change at run time (server_settings rows), over the defaults of the configuration.
import type { Kysely, Transaction } from 'kysely';
import type { Config } from '../../config.js';
import type { DB } from '../../db/schema.js';

type Executor = Kysely<DB> | Transaction<DB>;

/** Days to keep each kind of data; null keeps it forever (events always have a limit). */
export interface RetentionSettings {
  message_days: number | null;
  event_days: number;
  file_days: number | null;
}

const RETENTION_KEY = 'retention';

export class ServerSettings {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly config: Config,
  ) {}

  /** The configuration's defaults (MESSAGE_/EVENT_/FILE_RETENTION_DAYS). */
  retentionDefaults(): RetentionSettings {
    return {
      message_days: this.config.retention.messageDays ?? null,
      event_days: this.config.eventRetentionDays,
      file_days: this.config.retention.fileDays ?? null,
    };
  }

  /** Stored overrides over the defaults; each field set by an admin wins. */
  async retention(trx: Executor = this.db): Promise<RetentionSettings> {
    const row = await trx
      .selectFrom('server_settings')
      .select('value')
      .where('key', '=', RETENTION_KEY)
      .executeTakeFirst();
    return { ...this.retentionDefaults(), ...((row?.value ?? {}) as Partial<RetentionSettings>) };
  }

  async setRetention(
    patch: Partial<RetentionSettings>,
    actorId: string,
    trx: Executor = this.db,
  ): Promise<RetentionSettings> {
    const row = await trx
      .selectFrom('server_settings')
      .select('value')
      .where('key', '=', RETENTION_KEY)
      .executeTakeFirst();
    const stored = { ...((row?.value ?? {}) as Partial<RetentionSettings>), ...patch };
    const value = JSON.stringify(stored);
    await trx
      .insertInto('server_settings')
      .values({ key: RETENTION_KEY, value, updated_by: actorId })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({ value, updated_by: actorId, updated_at: new Date() }),
      )
      .execute();
    return { ...this.retentionDefaults(), ...stored };
  }
}
