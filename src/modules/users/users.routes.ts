// Users endpoints: GET /users/{id}, GET /users?q= (directory search), PATCH /users/me.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../context.js';
import { Envelope, errors, LimitQuery, ListEnvelope, ok, page } from '../../http/envelope.js';
import { actorOf } from '../../identity/actor.js';
import { SelfView, UpdateMeBody, UserProfileView, UserView } from './users.schemas.js';

export async function usersRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const service = ctx.services.users;

  app.get<{ Querystring: { q: string; limit: number; cursor?: string } }>(
    '/users',
    {
      schema: {
        tags: ['users'],
        operationId: 'searchUserDirectory',
        summary: 'Search people by username and display name, best match first',
        description:
          'The people directory, best match first; page with `cursor`. `limit` defaults to 50 (at most 100).',
        querystring: Type.Object(
          {
            q: Type.String({ minLength: 1, maxLength: 100 }),
            limit: LimitQuery,
            cursor: Type.Optional(Type.String({ maxLength: 512 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: ListEnvelope(UserView), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { q, limit, cursor } = request.query;
      const { items, nextCursor } = await service.search(actorOf(request), q, limit, cursor);
      return page(items, nextCursor);
    },
  );

  app.get(
    '/users/me',
    {
      schema: {
        tags: ['users'],
        operationId: 'getMe',
        summary: 'Your own profile with email and settings',
        description: 'The caller with email, TMS id and privacy and notification settings.',
        response: { 200: Envelope(SelfView), ...errors(401, 404) },
      },
    },
    async (request) => ok(await service.getMe(actorOf(request))),
  );

  app.patch<{ Body: UpdateMeBody }>(
    '/users/me',
    {
      schema: {
        tags: ['users'],
        operationId: 'updateMe',
        summary: 'Update your profile (local accounts), privacy and notification settings',
        description:
          'Every field is optional; `privacy` and `notifications` are merged into the stored settings and null clears a profile field. Profile fields managed by TMS answer 422 managed_by_tms.',
        body: UpdateMeBody,
        response: { 200: Envelope(SelfView), ...errors(400, 401, 404, 422) },
      },
    },
    async (request) => ok(await service.updateMe(actorOf(request), request.body)),
  );

  app.get<{ Params: { id: string } }>(
    '/users/:id',
    {
      schema: {
        tags: ['users'],
        operationId: 'getUser',
        summary: 'A user profile; deactivated users are shown with deactivated: true',
        description:
          "Presence (last_seen_at) honours the user's privacy settings; friendship and blocked describe the caller's relation to them.",
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
        response: { 200: Envelope(UserProfileView), ...errors(400, 401, 404) },
      },
    },
    async (request) => ok(await service.getUser(actorOf(request), request.params.id)),
  );
}
