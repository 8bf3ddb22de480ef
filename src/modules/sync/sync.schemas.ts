// Catch-up request schemas, shared by REST (GET /conversations/{id}/events, POST /sync) and the socket `sync` event.
import { Type } from 'typebox';
import { LimitQuery, SeqNumber } from '../../http/envelope.js';

export const EventsQuery = Type.Object(
  {
    after_seq: Type.Optional(SeqNumber()),
    limit: Type.Optional(LimitQuery),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const SyncBody = Type.Object(
  {
    cursors: Type.Record(Type.String({ format: 'uuid' }), SeqNumber(), {
      maxProperties: 100,
    }),
    limit: Type.Optional(LimitQuery),
  },
  { additionalProperties: false },
);
