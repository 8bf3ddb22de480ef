// Session revocations and user states: PostgreSQL is the source of truth, the cache answers the hot path.
import type { Cache } from '../platform/cache.js';

/** What token verification needs to know about the user a token names. */
export type UserState = 'active' | 'deactivated' | 'missing';

export interface IdentityState {
  /** The login (session family) was logged out, rotated away on reuse, or revoked with its user. */
  revoked: boolean;
  user: UserState;
}

/** The database's answer: read on a cache miss (expiry, flush, new instance) and while the cache is down. */
export type IdentityStateSource = (sessionId: string, userId: string) => Promise<IdentityState>;

/** `true`: revoked; `false`: known to be live (filled from the database). */
export const revokedSessionKey = (sessionId: string) => `auth:revoked-session:${sessionId}`;
export const userStateKey = (userId: string) => `auth:user-state:${userId}`;
/** TMS mode: the cached link from a TMS id to the local user and its state (src/identity/tms-directory.ts). */
export const tmsLinkKey = (tmsId: string) => `tms:link:${tmsId}`;

/** A user state read from the database is trusted this long; deactivation overwrites it at once. */
export const USER_STATE_TTL_SECONDS = 300;
/** Short, so a fill racing a logout on another instance can re-admit a token for at most this long. */
export const LIVE_SESSION_TTL_SECONDS = 60;
/** Slack over the longest access token lifetime, so a revoked token is refused until it expires anyway. */
const SLACK_SECONDS = 120;

export async function markSessionRevoked(
  cache: Cache,
  sessionId: string,
  tokenTtlSeconds: number,
): Promise<void> {
  await cache.set(revokedSessionKey(sessionId), true, tokenTtlSeconds + SLACK_SECONDS);
}

/** Refuses the user's tokens at once; callers have stored `deactivated_at` first. */
export async function markUserDeactivated(
  cache: Cache,
  userId: string,
  _tokenTtlSeconds?: number,
): Promise<void> {
  await cache.set(userStateKey(userId), 'deactivated' satisfies UserState, USER_STATE_TTL_SECONDS);
}

/** Forgets the cached state; the next request reads it from the database. */
export async function clearUserDeactivated(cache: Cache, userId: string): Promise<void> {
  await cache.delete(userStateKey(userId));
}

/**
 * The state of a login and its user in one cache round trip (two keys read in the same tick; ioredis
 * pipelines them). Misses are read from `source` and cached, positive and negative; a cache that cannot
 * be read sends every check to `source`. Without a source the cache alone decides (a miss admits).
 */
export async function identityState(
  cache: Cache,
  source: IdentityStateSource | undefined,
  sessionId: string,
  userId: string,
  tokenTtlSeconds: number,
): Promise<IdentityState> {
  let revoked: boolean | undefined;
  let user: UserState | undefined;
  try {
    [revoked, user] = await Promise.all([
      cache.get<boolean>(revokedSessionKey(sessionId)),
      cache.get<UserState>(userStateKey(userId)),
    ]);
  } catch (error) {
    // Cache down: one query per request instead of refusing everyone or trusting revoked tokens.
    if (!source) throw error;
    return source(sessionId, userId);
  }
  if (revoked !== undefined && user !== undefined) return { revoked, user };
  if (!source) return { revoked: revoked === true, user: user ?? 'active' };
  const fresh = await source(sessionId, userId);
  const fills: Array<Promise<void>> = [];
  if (revoked === undefined) {
    const ttl = fresh.revoked ? tokenTtlSeconds + SLACK_SECONDS : LIVE_SESSION_TTL_SECONDS;
    fills.push(cache.set(revokedSessionKey(sessionId), fresh.revoked, ttl));
  }
  if (user === undefined) fills.push(cache.set(userStateKey(userId), fresh.user, USER_STATE_TTL_SECONDS));
  // A failed fill only costs the next request another query.
  await Promise.all(fills).catch(() => undefined);
  return { revoked: revoked ?? fresh.revoked, user: user ?? fresh.user };
}
