// What the /auth routes need from either identity backend (local accounts or TMS).

import type { SelfView } from '../modules/users/users.schemas.js';
import type { Actor } from './actor.js';
import type { AuthConfig, LoginBody, LogoutResult, RegisterBody, TokenPair } from './auth.schemas.js';

export interface ClientMeta {
  ip: string;
  userAgent: string | undefined;
}

export interface AuthService {
  /** How clients sign in here (public): GET /auth/config. */
  config(): AuthConfig;
  register(input: RegisterBody, meta: ClientMeta): Promise<SelfView>;
  login(input: LoginBody, meta: ClientMeta): Promise<TokenPair>;
  refresh(refreshToken: string, meta: ClientMeta): Promise<TokenPair>;
  logout(actor: Actor, accessToken: string, refreshToken: string | undefined): Promise<LogoutResult>;
  me(actor: Actor): Promise<SelfView>;
}
