// /auth/* in TMS mode: no local register/login; refresh and logout pass through to TMS.
import { decodeJwt } from 'jose';
import type { AppContext } from '../context.js';
import { ForbiddenError, UnauthenticatedError } from '../errors.js';
import { type SelfView, toSelfView } from '../modules/users/users.schemas.js';
import type { Actor } from './actor.js';
import type { AuthConfig, LogoutResult, TokenPair } from './auth.schemas.js';
import type { AuthService } from './auth.service.js';
import { markSessionRevoked } from './revocation.js';
import { RevokedSessionsRepository } from './revoked-sessions.repository.js';
import type { TmsAuthenticator } from './tms-authenticator.js';
import { type TmsClient, TmsHttpError, TmsUnavailableError } from './tms-client.js';
import { tmsUnavailable } from './tms-directory.js';
import { TMS_REVOCATION_TTL_S } from './tms-webhooks.js';

const localDisabled = () =>
  new ForbiddenError('Accounts are managed by TMS: sign in there', 'local_auth_disabled');

export class TmsAuthService implements AuthService {
  constructor(
    private readonly ctx: AppContext,
    private readonly client: TmsClient,
    private readonly authenticator: TmsAuthenticator,
  ) {}

  config(): AuthConfig {
    return { mode: 'tms', registration: 'closed', tms_login_url: this.ctx.config.tms?.loginUrl ?? null };
  }

  async register(): Promise<SelfView> {
    throw localDisabled();
  }

  async login(): Promise<TokenPair> {
    throw localDisabled();
  }

  async refresh(refreshToken: string): Promise<TokenPair> {
    let pair: Awaited<ReturnType<TmsClient['refresh']>>;
    try {
      pair = await this.client.refresh(refreshToken);
    } catch (error) {
      if (error instanceof TmsUnavailableError) throw tmsUnavailable();
      if (error instanceof TmsHttpError && error.status >= 400 && error.status < 500) {
        throw new UnauthenticatedError('token_invalid', 'Refresh token is not valid');
      }
      throw error;
    }
    const actor = await this.authenticator.authenticate(pair.access_token);
    const payload = decodeJwt(pair.access_token); // verified just above
    return {
      access_token: pair.access_token,
      refresh_token: pair.refresh_token,
      token_type: 'Bearer',
      expires_in: pair.expires_in ?? Math.max(0, (payload.exp ?? 0) - Math.floor(Date.now() / 1000)),
      user: await this.me(actor),
    };
  }

  /** Revoked here at once, then TMS is told; tms_synced says whether TMS confirmed. */
  async logout(actor: Actor, accessToken: string, refreshToken: string | undefined): Promise<LogoutResult> {
    if (actor.sessionId) {
      await new RevokedSessionsRepository(this.ctx.db).record(actor.sessionId, TMS_REVOCATION_TTL_S);
      await markSessionRevoked(this.ctx.cache, actor.sessionId, TMS_REVOCATION_TTL_S);
      this.ctx.bus.publish('session.revoked', { session_id: actor.sessionId, user_id: actor.userId });
    }
    try {
      await this.client.logout(accessToken, actor.sessionId, refreshToken);
      return { logged_out: true, tms_synced: true };
    } catch (err) {
      this.ctx.logger.warn({ err: { message: (err as Error).message } }, 'TMS logout failed');
      return { logged_out: true, tms_synced: false };
    }
  }

  async me(actor: Actor): Promise<SelfView> {
    const user = await this.ctx.services.usersRepository.findById(actor.userId);
    if (!user) throw new UnauthenticatedError('token_invalid', 'Account no longer exists');
    return toSelfView(user);
  }
}
