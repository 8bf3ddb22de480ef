// Local access tokens: HS256 JWTs with sub, sid and role; a revoked session is refused at once via the shared cache.
import { webcrypto } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { UnauthenticatedError } from '../errors.js';
import type { Cache } from '../platform/cache.js';
import type { Actor, Authenticator, Role } from './actor.js';

export const LOCAL_ISSUER = 'tma';
const CLOCK_TOLERANCE_S = 30;

export const revokedSessionKey = (sessionId: string) => `auth:revoked-session:${sessionId}`;
export const deactivatedUserKey = (userId: string) => `auth:deactivated-user:${userId}`;

/** Answers the revocation checks from the database while the shared cache is unreachable. */
export type RevocationFallback = (
  sessionId: string,
  userId: string,
) => Promise<{ revoked: boolean; deactivated: boolean }>;

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
    private readonly fallback?: RevocationFallback,
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
      throw new UnauthenticatedError('token_invalid', 'Access token is not valid');
    }
    const sub = payload.sub;
    const sid = payload.sid;
    const role = payload.role === 'admin' ? 'admin' : 'user';
    if (typeof sub !== 'string' || typeof sid !== 'string') {
      throw new UnauthenticatedError('token_invalid', 'Access token is not valid');
    }
    let revoked: boolean | undefined;
    let deactivated: boolean | undefined;
    try {
      [revoked, deactivated] = await Promise.all([
        this.cache.get<boolean>(revokedSessionKey(sid)),
        this.cache.get<boolean>(deactivatedUserKey(sub)),
      ]);
    } catch (error) {
      // Cache down: one query per request instead of refusing everyone or trusting revoked tokens.
      if (!this.fallback) throw error;
      ({ revoked, deactivated } = await this.fallback(sid, sub));
    }
    if (revoked) throw new UnauthenticatedError('session_revoked', 'Session has been revoked');
    if (deactivated) throw new UnauthenticatedError('user_deactivated', 'Account is deactivated');
    return { userId: sub, role, sessionId: sid };
  }
}
