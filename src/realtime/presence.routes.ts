// GET /api/v1/presence: the presence of a list of users, as the caller may see it (same rules as the socket event).
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import { Envelope, errors, ok } from '../http/envelope.js';
import { actorOf } from '../identity/actor.js';
import type { PresenceService } from './presence.js';
import { PresencePayload } from './protocol.js';

const PresenceQuery = PresencePayload;

const PresenceEntry = Type.Object(
  {
    user_id: Type.String({ format: 'uuid' }),
    online: Type.Boolean(),
    last_seen_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { $id: 'Presence' },
);

export function presenceRoutes(app: FastifyInstance, presence: PresenceService): void {
  app.get<{ Querystring: Static<typeof PresenceQuery> }>(
    '/api/v1/presence',
    {
      schema: {
        tags: ['realtime'],
        operationId: 'getPresence',
        summary: 'Online status and last seen of users (contacts only; privacy settings apply)',
        description:
          'Repeat user_ids (`?user_ids=a&user_ids=b`) or separate them with commas. Users who are not contacts, ' +
          'or who hide their status, show as offline with last_seen_at null.',
        querystring: PresenceQuery,
        response: { 200: Envelope(Type.Array(PresenceEntry)), ...errors(400, 401) },
      },
      preValidation: async (request) => {
        const query = request.query as { user_ids?: unknown };
        const raw = query.user_ids;
        const list = (Array.isArray(raw) ? raw : [raw]).flatMap((v) =>
          typeof v === 'string' ? v.split(',') : [],
        );
        if (raw !== undefined) query.user_ids = list.filter(Boolean);
      },
    },
    async (request) => ok(await presence.query(actorOf(request).userId, request.query.user_ids)),
  );
}
