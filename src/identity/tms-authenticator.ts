// TMS tokens: HS256 with JWT_SECRET or RS256/ES256 through the TMS JWKS; maps `sub` to the local user.
import type { webcrypto } from 'node:crypto';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyOptions,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import type { TmsConfig } from '../config.js';
import { UnauthenticatedError } from '../errors.js';
import type { Cache } from '../platform/cache.js';
import { hmacKey } from './access-tokens.js';
import type { Actor, Authenticator } from './actor.js';
import { LIVE_SESSION_TTL_SECONDS, revokedSessionKey } from './revocation.js';
import { mapRoles, type TmsDirectory, tmsUnavailable } from './tms-directory.js';

const CLOCK_TOLERANCE_S = 30;
const ASYMMETRIC = ['RS256', 'ES256'];

/** How long a stored revocation read back into the cache is kept there (the row itself lives 24 h). */
const REVOKED_TTL_S = 3600;

const invalid = () => new UnauthenticatedError('token_invalid', 'Access token is not valid');

export class TmsAuthenticator implements Authenticator {
  private readonly secret: Promise<webcrypto.CryptoKey> | undefined;
  private readonly jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private readonly options: JWTVerifyOptions;

  constructor(
    private readonly config: TmsConfig,
    jwtSecret: string | undefined,
    private readonly cache: Cache,
    private readonly directory: TmsDirectory,
    /** The stored revocations (PostgreSQL), read when the cache has no answer for a session id. */
    private readonly revokedSource?: (sessionId: string) => Promise<boolean>,
  ) {
    this.secret = jwtSecret ? hmacKey(jwtSecret) : undefined;
    // jose caches the key set and refetches it when a token names an unknown kid (at most once per cooldown).
    this.jwks = config.jwksUrl
      ? createRemoteJWKSet(new URL(config.jwksUrl), {
          timeoutDuration: config.timeoutMs,
          cooldownDuration: config.jwksCooldownMs,
          cacheMaxAge: config.cacheTtlSeconds * 1000,
        })
      : undefined;
    this.options = {
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['exp', 'sub'],
      ...(config.issuer ? { issuer: config.issuer } : {}),
      ...(config.audience ? { audience: config.audience } : {}),
    };
  }

  /** Verifies signature and claims; throws token_expired / token_invalid (401) or tms_unavailable (503). */
  async verify(token: string): Promise<JWTPayload> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw invalid();
    }
    try {
      if (alg === 'HS256' && this.secret) {
        return (await jwtVerify(token, await this.secret, { ...this.options, algorithms: ['HS256'] }))
          .payload;
      }
      if (alg !== undefined && ASYMMETRIC.includes(alg) && this.jwks) {
        return (await jwtVerify(token, this.jwks, { ...this.options, algorithms: ASYMMETRIC })).payload;
      }
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) {
        throw new UnauthenticatedError('token_expired', 'Access token has expired');
      }
      if (error instanceof joseErrors.JWKSTimeout) throw tmsUnavailable();
      // The key set could not be fetched at all (TMS down and nothing cached).
      if (error instanceof TypeError && !(error instanceof joseErrors.JOSEError)) throw tmsUnavailable();
      throw invalid();
    }
    // alg none, or an algorithm this deployment is not configured for.
    throw invalid();
  }

  async authenticate(token: string): Promise<Actor> {
    const payload = await this.verify(token);
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 200) throw invalid();
    const sid = typeof payload.sid === 'string' && payload.sid.length > 0 ? payload.sid : null;
    // One cache round trip when warm: the sid's revocation flag and the user's link are read in the same tick.
    // The link holds the user's state (unknown to TMS: token_invalid; deactivated or deleted there: refused).
    const [revoked, link] = await Promise.all([
      sid ? this.cache.get<boolean>(revokedSessionKey(sid)) : undefined,
      this.directory.resolve(sub),
    ]);
    if (link.deactivated) throw new UnauthenticatedError('user_deactivated', 'Account is deactivated');
    if (revoked === true || (sid && revoked === undefined && (await this.storedRevocation(sid))))
      throw new UnauthenticatedError('session_revoked', 'Session has been revoked');
    return { userId: link.userId, role: this.roleFromClaims(payload) ?? link.role, sessionId: sid };
  }

  /** A cache miss (expiry, flush, a new instance) asks the database once and caches the answer either way. */
  private async storedRevocation(sid: string): Promise<boolean> {
    if (!this.revokedSource) return false;
    const revoked = await this.revokedSource(sid);
    await this.cache
      .set(revokedSessionKey(sid), revoked, revoked ? REVOKED_TTL_S : LIVE_SESSION_TTL_SECONDS)
      .catch(() => undefined);
    return revoked;
  }

  private roleFromClaims(payload: JWTPayload): Actor['role'] | undefined {
    const roles = Array.isArray(payload.roles)
      ? payload.roles.filter((r): r is string => typeof r === 'string')
      : typeof payload.role === 'string'
        ? [payload.role]
        : undefined;
    return roles ? mapRoles(this.config.roleMap, roles) : undefined;
  }
}
