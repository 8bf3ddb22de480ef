// Catch-up endpoints: GET /conversations/{id}/events and POST /sync (pruning is in src/jobs/maintenance.ts).
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import type { AppContext } from '../../context.js';
import { decodeCursor, Envelope, encodeCursor, errors, ListEnvelope, ok, page } from '../../http/envelope.js';
import { actorOf } from '../../identity/actor.js';
import { EventsQuery, SyncBody } from './sync.schemas.js';

const EventSchema = Type.Object(
  {
    conversation_id: Type.String({ format: 'uuid' }),
    seq: Type.Integer(),
    type: Type.String(),
    actor_id: Type.Union([Type.String(), Type.Null()]),
    message_id: Type.Union([Type.String(), Type.Null()]),
    payload: Type.Record(Type.String(), Type.Unknown()),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'ConversationEvent' },
);

const SyncEntrySchema = Type.Object(
  {
    conversation_id: Type.String(),
    status: Type.Union([Type.Literal('ok'), Type.Literal('not_found'), Type.Literal('cursor_expired')]),
    last_seq: Type.Integer(),
    events: Type.Array(EventSchema),
    has_more: Type.Boolean(),
  },
  { $id: 'SyncEntry' },
);

const SyncResultSchema = Type.Object(
  {
    conversations: Type.Array(SyncEntrySchema),
    memberships: Type.Array(Type.Object({ conversation_id: Type.String(), last_seq: Type.Integer() })),
  },
  { $id: 'SyncResult' },
);

const isAfterCursor = (v: unknown): v is { after_seq: number } =>
  typeof v === 'object' && v !== null && Number.isSafeInteger((v as { after_seq?: unknown }).after_seq);

export async function syncRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const service = ctx.services.sync;

  app.get<{ Params: { id: string }; Querystring: Static<typeof EventsQuery> }>(
    '/conversations/:id/events',
    {
      schema: {
        tags: ['sync'],
        operationId: 'listConversationEvents',
        summary:
          'Every change after a seq, ascending; 410 cursor_expired when those events are no longer kept',
        description:
          'Messages, edits, deletions, reactions, membership and settings changes, in seq order; page with `cursor` until has_more is false.',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        querystring: EventsQuery,
        response: { 200: ListEnvelope(EventSchema), ...errors(400, 401, 404, 410) },
      },
    },
    async (request) => {
      const cursor = decodeCursor(request.query.cursor, isAfterCursor);
      const afterSeq = cursor?.after_seq ?? request.query.after_seq ?? 0;
      const result = await service.eventsAfter(
        actorOf(request),
        request.params.id,
        afterSeq,
        request.query.limit ?? 50,
      );
      const last = result.events.at(-1);
      return page(result.events, result.has_more && last ? encodeCursor({ after_seq: last.seq }) : null);
    },
  );

  app.post<{ Body: Static<typeof SyncBody> }>(
    '/sync',
    {
      schema: {
        tags: ['sync'],
        operationId: 'sync',
        summary:
          'Batch catch-up: {cursors: {conversation_id: seq}}; each entry says ok, not_found or cursor_expired',
        description:
          'Up to 100 conversations in one call: for each, the events after the given seq (at most `limit`). memberships lists every conversation of the caller with its last_seq, so new ones are found too.',
        body: SyncBody,
        response: { 200: Envelope(SyncResultSchema), ...errors(400, 401) },
      },
    },
    async (request) => ok(await service.sync(actorOf(request), request.body.cursors, request.body.limit)),
  );
}
