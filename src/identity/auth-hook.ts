// One auth hook: every route is authenticated unless its config says public; the actor lands on the request.
import type { FastifyInstance } from 'fastify';
import { UnauthenticatedError } from '../errors.js';
import { type Authenticator, bearerToken } from './actor.js';

export function registerAuthHook(app: FastifyInstance, authenticator: () => Authenticator): void {
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.public === true) return;
    // Unknown routes fall through to the 404 handler without demanding a token.
    if (request.routeOptions.url === undefined) return;
    const token = bearerToken(request.headers.authorization);
    if (!token) throw new UnauthenticatedError('unauthenticated', 'Missing bearer token');
    request.actor = await authenticator().authenticate(token);
  });
}
