// /auth/*: register, login, refresh, logout, me. Thin: schema, one service call, envelope.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Envelope, errors, ok } from '../http/envelope.js';
import { SelfView } from '../modules/users/users.schemas.js';
import { actorOf, bearerToken } from './actor.js';
import { LoginBody, LogoutBody, LogoutResult, RefreshBody, RegisterBody, TokenPair } from './auth.schemas.js';
import type { AuthService, ClientMeta } from './auth.service.js';

const meta = (request: FastifyRequest): ClientMeta => ({
  ip: request.ip,
  userAgent: request.headers['user-agent'],
});

export async function authRoutes(app: FastifyInstance, options: { service: AuthService }): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { service } = options;

  api.post(
    '/auth/register',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Create a local account (the first account becomes admin)',
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
        summary: 'Log in with username or email and password',
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
        summary: 'Exchange a refresh token for a new pair (the old refresh token stops working)',
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
        summary: 'Revoke the current session; its access tokens are refused at once',
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
        summary: 'The caller, with email and settings',
        response: { 200: Envelope(SelfView), ...errors(401) },
      },
    },
    async (request) => ok(await service.me(actorOf(request))),
  );
}
