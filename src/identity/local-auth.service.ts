// Local accounts: register, login, refresh-token rotation with reuse detection, logout.
import { createHash, randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { AppContext } from '../context.js';
import { newId } from '../db/ids.js';
import type { DB, UserRow } from '../db/schema.js';
import {
  AppError,
  ConflictError,
  ForbiddenError,
  isUniqueViolation,
  UnauthenticatedError,
  ValidationError,
} from '../errors.js';
import { InvitesRepository } from '../modules/admin/invites.js';
import { type SelfView, toSelfView } from '../modules/users/users.schemas.js';
import type { AccessTokens } from './access-tokens.js';
import type { Actor } from './actor.js';
import type { AuthConfig, LoginBody, LogoutResult, RegisterBody, TokenPair } from './auth.schemas.js';
import type { AuthService, ClientMeta } from './auth.service.js';
import type { AuthLimiter } from './auth-limiter.js';
import { burnPasswordCheck, hashPassword, passwordWeakness, verifyPassword } from './passwords.js';
import { markSessionRevoked } from './revocation.js';
import { SessionsRepository } from './sessions.repository.js';

export const hashRefreshToken = (token: string) => createHash('sha256').update(token).digest('hex');

const invalidCredentials = () =>
  new UnauthenticatedError('invalid_credentials', 'Username or password is incorrect');

export class LocalAuthService implements AuthService {
  private readonly sessions: SessionsRepository;

  constructor(
    private readonly ctx: AppContext,
    private readonly tokens: AccessTokens,
    private readonly limiter: AuthLimiter,
  ) {
    this.sessions = new SessionsRepository(ctx.db);
  }

  config(): AuthConfig {
    return { mode: 'local', registration: this.ctx.config.registration, tms_login_url: null };
  }

  private get users() {
    return this.ctx.services.usersRepository;
  }

  /**
   * REGISTRATION=open: anyone; invite: with a live invite code (spent in the same transaction); closed: nobody.
   * Every account registered here is a user: admins come from TMA_ADMIN_USERNAME, `npm run admin` or an admin.
   */
  async register(input: RegisterBody, meta: ClientMeta): Promise<SelfView> {
    const mode = this.ctx.config.registration;
    if (mode === 'closed') {
      throw new ForbiddenError(
        'Registration is closed; ask an administrator for an account',
        'registration_closed',
      );
    }
    if (mode === 'invite' && !input.invite_code) {
      throw new ForbiddenError('Registration needs an invite code', 'invite_required');
    }
    await this.limiter.beforeAttempt(meta.ip, input.username);
    const weakness = await passwordWeakness(input.password, input.username);
    if (weakness) {
      throw new AppError(400, 'weak_password', `Password ${weakness}`, { field: 'password' });
    }
    const passwordHash = await hashPassword(input.password);
    try {
      const row = await this.ctx.db.transaction().execute(async (trx) => {
        if (await this.users.findByUsername(input.username, trx)) {
          throw new ConflictError('Username is already taken', 'username_taken', { field: 'username' });
        }
        if (input.email && (await this.users.findByEmail(input.email, trx))) {
          throw new ConflictError('Email is already registered', 'email_taken', { field: 'email' });
        }
        if (mode === 'invite' && !(await new InvitesRepository(trx).consume(input.invite_code ?? '', trx))) {
          throw new ForbiddenError(
            'The invite code is unknown, used up, expired or revoked',
            'invite_invalid',
          );
        }
        return this.users.insert(
          {
            id: newId(),
            username: input.username,
            email: input.email ?? null,
            display_name: input.display_name ?? input.username,
            role: 'user',
            password_hash: passwordHash,
            settings: {},
          },
          trx,
        );
      });
      return toSelfView(row);
    } catch (error) {
      await this.limiter.failed(input.username);
      if (isUniqueViolation(error))
        throw new ConflictError('Username or email is already taken', 'username_taken');
      throw error;
    }
  }

  async login(input: LoginBody, meta: ClientMeta): Promise<TokenPair> {
    const identifier = input.email ?? input.username;
    if (identifier === undefined) {
      throw new ValidationError('username or email is required', { field: 'username' });
    }
    await this.limiter.beforeAttempt(meta.ip, identifier);
    const user = identifier.includes('@')
      ? await this.users.findByEmail(identifier)
      : await this.users.findByUsername(identifier);
    if (!user?.password_hash) {
      await burnPasswordCheck(input.password);
      await this.limiter.failed(identifier);
      throw invalidCredentials();
    }
    // Keyed by account too, so alternating username and email does not double the budget.
    const accountKey = `id:${user.id}`;
    await this.limiter.ensureAllowed(accountKey);
    if (!(await verifyPassword(user.password_hash, input.password))) {
      await this.limiter.failed(identifier, accountKey);
      throw invalidCredentials();
    }
    if (user.deactivated_at) throw new UnauthenticatedError('user_deactivated', 'Account is deactivated');
    return this.ctx.db.transaction().execute((trx) => this.issue(trx, user, undefined, meta));
  }

  async refresh(refreshToken: string, meta: ClientMeta): Promise<TokenPair> {
    const row = await this.sessions.findByRefreshHash(hashRefreshToken(refreshToken));
    if (!row) throw new UnauthenticatedError('token_invalid', 'Refresh token is not valid');
    if (row.replaced_by) return this.reuseDetected(row.family_id);
    if (row.revoked_at) throw new UnauthenticatedError('session_revoked', 'Session has been revoked');
    if (row.expires_at.getTime() <= Date.now()) {
      throw new UnauthenticatedError('token_expired', 'Refresh token has expired');
    }
    const user = await this.users.findById(row.user_id);
    if (!user || user.deactivated_at) {
      throw new UnauthenticatedError('user_deactivated', 'Account is deactivated');
    }
    const next = newId();
    const pair = await this.ctx.db.transaction().execute(async (trx) => {
      if (!(await this.sessions.markRotated(row.id, next, trx))) return undefined;
      return this.issue(trx, user, row.family_id, meta, next);
    });
    // Lost a race with another use of the same token: that is reuse too.
    return pair ?? this.reuseDetected(row.family_id);
  }

  async logout(actor: Actor, _accessToken: string, refreshToken: string | undefined): Promise<LogoutResult> {
    const families = new Set<string>();
    if (actor.sessionId) families.add(actor.sessionId);
    if (refreshToken) {
      const row = await this.sessions.findByRefreshHash(hashRefreshToken(refreshToken));
      if (row && row.user_id === actor.userId) families.add(row.family_id);
    }
    for (const family of families) await this.revokeFamily(family, actor.userId);
    return { logged_out: true };
  }

  async me(actor: Actor): Promise<SelfView> {
    const user = await this.users.findById(actor.userId);
    if (!user) throw new UnauthenticatedError('token_invalid', 'Account no longer exists');
    return toSelfView(user);
  }

  private async issue(
    trx: Transaction<DB>,
    user: UserRow,
    familyId: string | undefined,
    meta: ClientMeta,
    id: string = newId(),
  ): Promise<TokenPair> {
    const refreshToken = randomBytes(32).toString('base64url');
    const family = familyId ?? id;
    await this.sessions.insert(
      {
        id,
        user_id: user.id,
        refresh_hash: hashRefreshToken(refreshToken),
        family_id: family,
        expires_at: new Date(Date.now() + this.ctx.config.refreshTokenTtlSeconds * 1000),
        user_agent: meta.userAgent?.slice(0, 512) ?? null,
        ip: meta.ip,
        last_used_at: new Date(),
      },
      trx,
    );
    // The access token names the family: revoking the login refuses every token it produced.
    const accessToken = await this.tokens.sign({ userId: user.id, sessionId: family, role: user.role });
    return {
      access_token: accessToken,
      refresh_token: refreshToken,
      token_type: 'Bearer',
      expires_in: this.tokens.expiresIn,
      user: toSelfView(user),
    };
  }

  private async reuseDetected(familyId: string): Promise<never> {
    const users = await this.sessions.revokeFamily(familyId);
    for (const userId of users) await this.revoked(familyId, userId);
    this.ctx.logger.warn({ family_id: familyId }, 'refresh token reuse: session family revoked');
    throw new UnauthenticatedError('refresh_token_reused', 'Refresh token was already used; session revoked');
  }

  private async revokeFamily(familyId: string, userId: string): Promise<void> {
    await this.sessions.revokeFamily(familyId);
    await this.revoked(familyId, userId);
  }

  private async revoked(familyId: string, userId: string): Promise<void> {
    await markSessionRevoked(this.ctx.cache, familyId, this.ctx.config.accessTokenTtlSeconds);
    this.ctx.bus.publish('session.revoked', { session_id: familyId, user_id: userId });
  }
}
