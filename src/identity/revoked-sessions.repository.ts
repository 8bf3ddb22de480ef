// Stored revocations of TMS logins: the source of truth behind the cached `auth:revoked-session:{sid}` flag.
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';

export class RevokedSessionsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Remembers a revoked session id for `ttlSeconds` (longer than any token of it can live). */
  async record(sessionId: string, ttlSeconds: number): Promise<void> {
    const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
    await this.db
      .insertInto('revoked_sessions')
      .values({ session_id: sessionId, expires_at: expiresAt })
      .onConflict((oc) => oc.column('session_id').doUpdateSet({ expires_at: expiresAt }))
      .execute();
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('revoked_sessions')
      .select('session_id')
      .where('session_id', '=', sessionId)
      .where('expires_at', '>', new Date())
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Drops revocations whose tokens have all expired; returns how many. */
  async prune(): Promise<number> {
    const result = await this.db
      .deleteFrom('revoked_sessions')
      .where('expires_at', '<=', new Date())
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
