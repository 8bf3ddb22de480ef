// SQL for sessions (one row per refresh token; a login's rows share family_id) and webhook receipts.
import type { Insertable, Kysely, Transaction } from 'kysely';
import type { DB, SessionRow, SessionsTable } from '../db/schema.js';
import type { IdentityState } from './revocation.js';

type Executor = Kysely<DB> | Transaction<DB>;
export type NewSession = Insertable<SessionsTable>;

export class SessionsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  insert(session: NewSession, trx: Executor = this.db): Promise<SessionRow> {
    return trx.insertInto('sessions').values(session).returningAll().executeTakeFirstOrThrow();
  }

  findByRefreshHash(refreshHash: string, trx: Executor = this.db): Promise<SessionRow | undefined> {
    return trx.selectFrom('sessions').selectAll().where('refresh_hash', '=', refreshHash).executeTakeFirst();
  }

  /** Marks a row used: revoked and pointing at its successor. False when someone else rotated it first. */
  async markRotated(id: string, replacedBy: string, trx: Executor = this.db): Promise<boolean> {
    const result = await trx
      .updateTable('sessions')
      .set({ revoked_at: new Date(), replaced_by: replacedBy, last_used_at: new Date() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Revokes every live row of a family (a login); returns the user ids touched. */
  async revokeFamily(familyId: string, trx: Executor = this.db): Promise<string[]> {
    const rows = await trx
      .updateTable('sessions')
      .set({ revoked_at: new Date() })
      .where((eb) => eb.or([eb('family_id', '=', familyId), eb('id', '=', familyId)]))
      .where('revoked_at', 'is', null)
      .returning('user_id')
      .execute();
    return [...new Set(rows.map((r) => r.user_id))];
  }

  /** Revokes every live session of a user; returns the family ids. */
  async revokeAllForUser(userId: string, trx: Executor = this.db): Promise<string[]> {
    const rows = await trx
      .updateTable('sessions')
      .set({ revoked_at: new Date() })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .returning('family_id')
      .execute();
    return [...new Set(rows.map((r) => r.family_id))];
  }

  /** Whether a login (family id, or a lone session id) still has a usable row, and the state of its user. */
  async revocationState(sessionId: string, userId: string, trx: Executor = this.db): Promise<IdentityState> {
    const [live, user] = await Promise.all([
      trx
        .selectFrom('sessions')
        .select('id')
        .where((eb) => eb.or([eb('family_id', '=', sessionId), eb('id', '=', sessionId)]))
        .where('revoked_at', 'is', null)
        .limit(1)
        .executeTakeFirst(),
      trx.selectFrom('users').select('deactivated_at').where('id', '=', userId).executeTakeFirst(),
    ]);
    const state = !user ? 'missing' : user.deactivated_at === null ? 'active' : 'deactivated';
    return { revoked: live === undefined, user: state };
  }

  /** Records a webhook event id; false when it was seen before (a replay). */
  async recordWebhook(id: string, source: string, trx: Executor = this.db): Promise<boolean> {
    const result = await trx
      .insertInto('webhook_receipts')
      .values({ id, source })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    return result !== undefined;
  }

  async pruneWebhookReceipts(olderThan: Date, trx: Executor = this.db): Promise<void> {
    await trx.deleteFrom('webhook_receipts').where('received_at', '<', olderThan).execute();
  }

  async deleteExpired(before: Date, trx: Executor = this.db): Promise<void> {
    await trx.deleteFrom('sessions').where('expires_at', '<', before).execute();
  }
}
