// Periodic TMS user sync (`GET /users?updated_since=`), one instance at a time through a PostgreSQL advisory lock.
import { sql } from 'kysely';
import type { AppContext } from '../context.js';
import { SessionsRepository } from './sessions.repository.js';
import type { TmsClient, TmsUser } from './tms-client.js';
import type { TmsDirectory } from './tms-directory.js';

const SYNC_LOCK = 72_010_002;
const CURSOR_KEY = 'tms:sync:cursor';
const CURSOR_TTL_S = 30 * 86_400;
/** The first run comes soon after start, so a new deployment has its directory quickly. */
const FIRST_RUN_MAX_DELAY_S = 30;
const RECEIPT_RETENTION_MS = 86_400_000;

export interface SyncResult {
  /** False when another instance holds the lock. */
  ran: boolean;
  applied: number;
}

export class TmsSync {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SyncResult> | undefined;
  private stopped = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly client: TmsClient,
    private readonly directory: TmsDirectory,
  ) {}

  start(): void {
    const interval = this.ctx.config.tms?.syncIntervalSeconds ?? 600;
    this.schedule(Math.min(interval, FIRST_RUN_MAX_DELAY_S) * 1000, interval * 1000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One sync pass; concurrent calls share the pass in flight. */
  runOnce(): Promise<SyncResult> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(delayMs: number, intervalMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      try {
        const result = await this.runOnce();
        if (result.ran) this.ctx.logger.info({ applied: result.applied }, 'TMS sync done');
      } catch (err) {
        this.ctx.logger.warn({ err: { message: (err as Error).message } }, 'TMS sync failed');
      }
      this.schedule(intervalMs, intervalMs);
    }, delayMs);
    this.timer.unref();
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
