// Local access tokens: HS256 JWTs with sub, sid and role; every use checks the token's session and user.
import { webcrypto } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { UnauthenticatedError } from '../errors.js';
import type { Cache } from '../platform/cache.js';
import type { Actor, Authenticator, Role } from './actor.js';
import { type IdentityStateSource, identityState } from './revocation.js';

export const LOCAL_ISSUER = 'tma';
const CLOCK_TOLERANCE_S = 30;
/** Local user ids and session ids are UUIDs; anything else never reaches a query. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export { revokedSessionKey, userStateKey } from './revocation.js';

const invalid = () => new UnauthenticatedError('token_invalid', 'Access token is not valid');

/** An HS256 key for jose, imported into WebCrypto once. */
export function hmacKey(secret: string): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify'],
  );
}

export class AccessTokens implements Authenticator {
  /** Imported once: jose would import raw key bytes into WebCrypto again at every sign and verify. */
  private readonly key: Promise<webcrypto.CryptoKey>;

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
    private readonly cache: Cache,
    /** The database behind the cache (sessions.revoked_at, users.deactivated_at). */
    private readonly source?: IdentityStateSource,
  ) {
    this.key = hmacKey(secret);
  }

  get expiresIn(): number {
    return this.ttlSeconds;
  }

  async sign(claims: { userId: string; sessionId: string; role: Role }): Promise<string> {
    return new SignJWT({ sid: claims.sessionId, role: claims.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(LOCAL_ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(await this.key);
  }

  async authenticate(token: string): Promise<Actor> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, await this.key, {
        algorithms: ['HS256'],
        issuer: LOCAL_ISSUER,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired)
        throw new UnauthenticatedError('token_expired', 'Access token has expired');
      throw invalid();
    }
    const { sub, sid } = payload;
    const role = payload.role === 'admin' ? 'admin' : 'user';
    if (typeof sub !== 'string' || typeof sid !== 'string' || !UUID.test(sub) || !UUID.test(sid)) {
      throw invalid();
    }
    const state = await identityState(this.cache, this.source, sid, sub, this.ttlSeconds);
    // A correctly signed token for a user that does not exist (deleted, or another deployment's secret).
    if (state.user === 'missing') throw invalid();
    if (state.user === 'deactivated')
      throw new UnauthenticatedError('user_deactivated', 'Account is deactivated');
    if (state.revoked) throw new UnauthenticatedError('session_revoked', 'Session has been revoked');
    return { userId: sub, role, sessionId: sid };
  }
}
