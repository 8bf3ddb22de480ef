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
  const service = ctx.services.friends;

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/friends',
    {
      schema: {
        tags: ['friends'],
        operationId: 'listFriends',
        summary: "The caller's friends, most recent first",
        description: 'Each friend with the time the friendship was accepted; page with `cursor`.',
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
        operationId: 'listFriendRequests',
        summary: 'Pending friend requests, incoming and outgoing (see direction), most recent first',
        description:
          'direction is incoming for requests sent to the caller and outgoing for requests the caller sent; page with `cursor`.',
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
        operationId: 'sendFriendRequest',
        summary: 'Send a friend request by username or user id; a pending request from them is accepted',
        description:
          'Exactly one of username and user_id. 201 with the new request; 200 with the existing one when already sent, or with status accepted when the other person had already asked. 403 blocked in either direction.',
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
          operationId: `${action}FriendRequest`,
          summary: `${action === 'accept' ? 'Accept' : 'Reject'} a friend request (its receiver only)`,
          description:
            '404 for anyone but the receiver and for unknown ids; 409 request_not_pending once answered.',
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
        operationId: 'removeFriend',
        summary: 'Remove a friend, or withdraw/decline a pending request with that user',
        description: '404 when there is nothing between the two.',
        params: FriendIdParams,
        response: { 200: Envelope(RemoveFriendResult), ...errors(400, 401, 404) },
      },
    },
    async (request) => ok(await service.remove(actorOf(request), request.params.user_id)),
  );
}
