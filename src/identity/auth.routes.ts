// /auth/*: register, login, refresh, logout, me. Thin: schema, one service call, envelope.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Envelope, errors, ok } from '../http/envelope.js';
import { SelfView } from '../modules/users/users.schemas.js';
import { actorOf, bearerToken } from './actor.js';
import {
  AuthConfig,
  LoginBody,
  LogoutBody,
  LogoutResult,
  RefreshBody,
  RegisterBody,
  TokenPair,
} from './auth.schemas.js';
import type { AuthService, ClientMeta } from './auth.service.js';

const meta = (request: FastifyRequest): ClientMeta => ({
  ip: request.ip,
  userAgent: request.headers['user-agent'],
});

export async function authRoutes(app: FastifyInstance, options: { service: AuthService }): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { service } = options;

  api.get(
    '/auth/config',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        operationId: 'getAuthConfig',
        summary: 'How a client signs in here: local accounts or the TMS token hand-off',
        description:
          'Public, for sign-in screens. In TMS mode a client sends the person to tms_login_url with return_to and state; TMS sends them back with the tokens in the address fragment (docs/identity.md, "Web sign-in through TMS").',
        security: [],
        response: { 200: Envelope(AuthConfig) },
      },
    },
    async () => ok(service.config()),
  );

  api.post(
    '/auth/register',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        operationId: 'register',
        summary: 'Create a local account (REGISTRATION=open, or invite with an invite code)',
        description:
          'Local accounts only; every new account is a user (admins: TMA_ADMIN_USERNAME, `npm run admin`, or an admin). REGISTRATION=closed answers 403 registration_closed; REGISTRATION=invite needs invite_code (403 invite_required, invite_invalid). The username is 3-32 letters, digits, dots, dashes or underscores; a weak password answers 400 weak_password with a hint. Answers the new user; log in to get tokens.',
        security: [],
        body: RegisterBody,
        response: { 201: Envelope(SelfView), ...errors(400, 403, 409, 413, 429) },
      },
    },
    async (request, reply) => reply.status(201).send(ok(await service.register(request.body, meta(request)))),
  );

  api.post(
    '/auth/login',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        operationId: 'login',
        summary: 'Log in with username or email and password',
        description:
          'Answers an access token (send it as `Authorization: Bearer`), a refresh token and the user. An unknown user and a wrong password both answer 401 invalid_credentials.',
        security: [],
        body: LoginBody,
        response: { 200: Envelope(TokenPair), ...errors(400, 401, 403, 413, 429) },
      },
    },
    async (request) => ok(await service.login(request.body, meta(request))),
  );

  api.post(
    '/auth/refresh',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        operationId: 'refreshTokens',
        summary: 'Exchange a refresh token for a new pair (the old refresh token stops working)',
        description:
          'Refresh tokens rotate: each one works once and answers a new pair. Presenting a refresh token that was already rotated revokes its whole session family (401 refresh_token_reused).',
        security: [],
        body: RefreshBody,
        response: { 200: Envelope(TokenPair), ...errors(400, 401, 413, 429, 503) },
      },
    },
    async (request) => ok(await service.refresh(request.body.refresh_token, meta(request))),
  );

  api.post(
    '/auth/logout',
    {
      schema: {
        tags: ['auth'],
        operationId: 'logout',
        summary: 'Revoke the current session; its access tokens are refused at once',
        description:
          'The body may be empty; a refresh_token in it is revoked as well. In TMS mode the logout is also sent to TMS (tms_synced says whether it confirmed).',
        body: LogoutBody,
        response: { 200: Envelope(LogoutResult), ...errors(400, 401) },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const token = bearerToken(request.headers.authorization) ?? '';
      return ok(await service.logout(actor, token, request.body?.refresh_token));
    },
  );

  api.get(
    '/auth/me',
    {
      schema: {
        tags: ['auth'],
        operationId: 'getAuthenticatedUser',
        summary: 'The caller, with email and settings',
        description: 'The user behind the bearer token, as GET /users/me answers it.',
        response: { 200: Envelope(SelfView), ...errors(401) },
      },
    },
    async (request) => ok(await service.me(actorOf(request))),
  );
}
