// TMS user sync (`GET /users?updated_since=`), one instance at a time through a PostgreSQL advisory lock; run
// periodically by the maintenance schedule `maintenance-tms-sync` (src/jobs/maintenance.ts).
import { sql } from 'kysely';
import type { IdentityDeps } from './identity.js';
import { SessionsRepository } from './sessions.repository.js';
import type { TmsClient, TmsUser } from './tms-client.js';
import type { TmsDirectory } from './tms-directory.js';

const SYNC_LOCK = 72_010_002;
const CURSOR_KEY = 'tms:sync:cursor';
const CURSOR_TTL_S = 30 * 86_400;
const RECEIPT_RETENTION_MS = 86_400_000;

export interface SyncResult {
  /** False when another instance holds the lock. */
  ran: boolean;
  applied: number;
}

export class TmsSync {
  private running: Promise<SyncResult> | undefined;
  private stopped = false;

  constructor(
    private readonly ctx: IdentityDeps,
    private readonly client: TmsClient,
    private readonly directory: TmsDirectory,
  ) {}

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  /** One sync pass; concurrent calls share the pass in flight. After stop() a pass does nothing. */
  runOnce(): Promise<SyncResult> {
    if (this.stopped) return Promise.resolve({ ran: false, applied: 0 });
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<SyncResult> {
    // PGlite has one connection and one instance: fetch before reserving it, so requests are not held up.
    const prefetched = this.ctx.database.kind === 'pglite' ? await this.fetch() : undefined;
    return this.ctx.db.connection().execute(async (conn) => {
      const lock = await sql<{
        locked: boolean;
      }>`SELECT pg_try_advisory_lock(${SYNC_LOCK}) AS locked`.execute(conn);
      if (!lock.rows[0]?.locked) return { ran: false, applied: 0 };
      try {
        const { users, cursor } = prefetched ?? (await this.fetch());
        let applied = 0;
        for (const profile of users) {
          if (this.stopped) break;
          await this.directory.apply(profile, conn);
          applied++;
        }
        // An interrupted pass keeps the old cursor, so the next one sees the rest.
        if (cursor && applied === users.length) await this.ctx.cache.set(CURSOR_KEY, cursor, CURSOR_TTL_S);
        await new SessionsRepository(conn).pruneWebhookReceipts(
          new Date(Date.now() - RECEIPT_RETENTION_MS),
          conn,
        );
        return { ran: true, applied };
      } finally {
        await sql`SELECT pg_advisory_unlock(${SYNC_LOCK})`.execute(conn);
      }
    });
  }

  private async fetch(): Promise<{ users: TmsUser[]; cursor: string | undefined }> {
    const since = await this.ctx.cache.get<string>(CURSOR_KEY);
    const users = await this.client.usersUpdatedSince(since);
    // TMS's own clock moves the cursor, so clock drift between the two cannot skip an update.
    let cursor = since;
    for (const u of users) {
      if (u.updated_at && !Number.isNaN(Date.parse(u.updated_at)) && (!cursor || u.updated_at > cursor)) {
        cursor = u.updated_at;
      }
    }
    return { users, cursor };
  }
}
