// Friends endpoints: list friends and pending requests, send/accept/reject requests, remove a friend.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../context.js';
import { Envelope, errors, LimitQuery, ListEnvelope, ok, page } from '../../http/envelope.js';
import { actorOf } from '../../identity/actor.js';
import {
  FriendIdParams,
  FriendRequestView,
  FriendView,
  RemoveFriendResult,
  RequestIdParams,
  SendFriendRequestBody,
} from './friends.schemas.js';

const ListQuery = Type.Object(
  { limit: LimitQuery, cursor: Type.Optional(Type.String({ maxLength: 512 })) },
  { additionalProperties: false },
);

export async function friendsRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const service = ctx.services.friendsService;

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/friends',
    {
      schema: {
        tags: ['friends'],
        summary: "The caller's friends, most recent first",
        querystring: ListQuery,
        response: { 200: ListEnvelope(FriendView), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { items, nextCursor } = await service.listFriends(
        actorOf(request),
        request.query.limit,
        request.query.cursor,
      );
      return page(items, nextCursor);
    },
  );

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/friends/requests',
    {
      schema: {
        tags: ['friends'],
        summary: 'Pending friend requests, incoming and outgoing (see direction), most recent first',
        querystring: ListQuery,
        response: { 200: ListEnvelope(FriendRequestView), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { items, nextCursor } = await service.listRequests(
        actorOf(request),
        request.query.limit,
        request.query.cursor,
      );
      return page(items, nextCursor);
    },
  );

  app.post<{ Body: SendFriendRequestBody }>(
    '/friends/requests',
    {
      schema: {
        tags: ['friends'],
        summary: 'Send a friend request by username or user id; a pending request from them is accepted',
        body: SendFriendRequestBody,
        response: {
          200: Envelope(FriendRequestView),
          201: Envelope(FriendRequestView),
          ...errors(400, 401, 403, 404, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const { request: view, created } = await service.sendRequest(actorOf(request), request.body);
      reply.status(created ? 201 : 200);
      return ok(view);
    },
  );

  for (const action of ['accept', 'reject'] as const) {
    app.put<{ Params: { id: string } }>(
      `/friends/requests/:id/${action}`,
      {
        schema: {
          tags: ['friends'],
          summary: `${action === 'accept' ? 'Accept' : 'Reject'} a friend request (its receiver only)`,
          params: RequestIdParams,
          response: { 200: Envelope(FriendRequestView), ...errors(400, 401, 404, 409) },
        },
      },
      async (request) => ok(await service[action](actorOf(request), request.params.id)),
    );
  }

  app.delete<{ Params: { user_id: string } }>(
    '/friends/:user_id',
    {
      schema: {
        tags: ['friends'],
        summary: 'Remove a friend, or withdraw/decline a pending request with that user',
        params: FriendIdParams,
        response: { 200: Envelope(RemoveFriendResult), ...errors(400, 401, 404) },
      },
    },
    async (request) => ok(await service.remove(actorOf(request), request.params.user_id)),
  );
}
