// Call endpoints: ICE servers (with TURN credentials), the caller's call history, one call.
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import type { AppContext } from '../../context.js';
import { Envelope, errors, ListEnvelope, ok, page } from '../../http/envelope.js';
import { actorOf } from '../../identity/actor.js';
import { CallsQuery, CallView, IceServers } from './calls.schemas.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
type IdParams = Static<typeof IdParams>;

export async function callsRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const { calls } = ctx.services;

  app.get(
    '/calls/ice-servers',
    {
      schema: {
        tags: ['calls'],
        operationId: 'getIceServers',
        summary: 'STUN and TURN servers for RTCPeerConnection, with short-lived TURN credentials',
        description:
          'TURN credentials follow coturn use-auth-secret: username `<expiry unix>:<user id>`, credential base64 HMAC-SHA1 of it with TURN_SECRET; valid until expires_at (TURN_TTL).',
        response: { 200: Envelope(IceServers), ...errors(401) },
      },
    },
    async (request) => ok(calls.iceServers(actorOf(request))),
  );

  app.get<{ Querystring: CallsQuery }>(
    '/calls',
    {
      schema: {
        tags: ['calls'],
        operationId: 'listCalls',
        summary: 'Your call history (calls you were rung for or joined), newest first',
        description: 'Filter by conversation_id; page with `cursor`; `limit` defaults to 50 (at most 100).',
        querystring: CallsQuery,
        response: { 200: ListEnvelope(CallView), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { items, nextCursor } = await calls.list(actorOf(request), request.query);
      return page(items, nextCursor);
    },
  );

  app.get<{ Params: IdParams }>(
    '/calls/:id',
    {
      schema: {
        tags: ['calls'],
        operationId: 'getCall',
        summary: 'One call, to its participants and the members of its conversation (404 to anyone else)',
        description:
          'The call view with its participants, status, end_reason and duration_ms (from the first answer to the end).',
        params: IdParams,
        response: { 200: Envelope(CallView), ...errors(400, 401, 404) },
      },
    },
    async (request) => ok(await calls.get(actorOf(request), request.params.id)),
  );
}
