// Revocations that must take effect at once on every instance: kept in the shared cache, checked per request.
import type { Cache } from '../platform/cache.js';
import { deactivatedUserKey, revokedSessionKey } from './access-tokens.js';

/** Slack over the longest access token lifetime, so a revoked token is refused until it expires anyway. */
const SLACK_SECONDS = 120;

export async function markSessionRevoked(
  cache: Cache,
  sessionId: string,
  tokenTtlSeconds: number,
): Promise<void> {
  await cache.set(revokedSessionKey(sessionId), true, tokenTtlSeconds + SLACK_SECONDS);
}

export async function markUserDeactivated(
  cache: Cache,
  userId: string,
  tokenTtlSeconds: number,
): Promise<void> {
  await cache.set(deactivatedUserKey(userId), true, tokenTtlSeconds + SLACK_SECONDS);
}

export async function clearUserDeactivated(cache: Cache, userId: string): Promise<void> {
  await cache.delete(deactivatedUserKey(userId));
}
