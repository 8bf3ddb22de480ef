// Deactivating and reactivating a user (for admin tools): stored first, the cached state updated, announced.
import type { AppContext } from '../context.js';
import { clearUserDeactivated, markSessionRevoked, markUserDeactivated, tmsLinkKey } from './revocation.js';
import { SessionsRepository } from './sessions.repository.js';

/** Sets deactivated_at, revokes every session, refuses the user's tokens at once; false when no such user. */
export async function deactivateUser(ctx: AppContext, userId: string): Promise<boolean> {
  const sessions = new SessionsRepository(ctx.db);
  const result = await ctx.db.transaction().execute(async (trx) => {
    const row = await ctx.services.usersRepository.findById(userId, trx);
    if (!row) return undefined;
    if (!row.deactivated_at)
      await ctx.services.usersRepository.update(userId, { deactivated_at: new Date() }, trx);
    return {
      families: await sessions.revokeAllForUser(userId, trx),
      wasActive: row.deactivated_at === null,
      tmsId: row.tms_user_id,
    };
  });
  if (!result) return false;
  const ttl = ctx.config.accessTokenTtlSeconds;
  await markUserDeactivated(ctx.cache, userId);
  // TMS mode reads the user's state from its link: the next request re-reads it from the row.
  if (result.tmsId) await ctx.cache.delete(tmsLinkKey(result.tmsId));
  for (const family of result.families) {
    await markSessionRevoked(ctx.cache, family, ttl);
    ctx.bus.publish('session.revoked', { session_id: family, user_id: userId });
  }
  if (result.wasActive) ctx.bus.publish('user.deactivated', { user_id: userId });
  return true;
}

/** Clears deactivated_at; the user logs in again (old sessions stay revoked). */
export async function reactivateUser(ctx: AppContext, userId: string): Promise<boolean> {
  const row = await ctx.services.usersRepository.update(userId, { deactivated_at: null });
  if (!row) return false;
  await clearUserDeactivated(ctx.cache, userId);
  if (row.tms_user_id) await ctx.cache.delete(tmsLinkKey(row.tms_user_id));
  ctx.bus.publish('user.updated', { user_id: userId });
  return true;
}
