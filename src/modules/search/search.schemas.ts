// Search payloads: message hits {message, highlight}, conversation hits, and the query strings of /search/*.
import { type Static, Type } from 'typebox';
import { LimitQuery } from '../../http/envelope.js';
import { MessageTypeSchema, MessageViewSchema, Nullable } from '../messages/messages.schemas.js';

export const MAX_QUERY_LENGTH = 200;

export const MessageSearchQuery = Type.Object(
  {
    q: Type.String({
      minLength: 1,
      maxLength: MAX_QUERY_LENGTH,
      description: 'Web-search syntax: words, "phrases", OR, -not; the last word also matches as a prefix',
    }),
    conversation_id: Type.Optional(Type.String({ format: 'uuid' })),
    sender_id: Type.Optional(Type.String({ format: 'uuid' })),
    type: Type.Optional(MessageTypeSchema),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'created_at >= from' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'created_at < to' })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: LimitQuery,
  },
  { additionalProperties: false },
);
export type MessageSearchQuery = Static<typeof MessageSearchQuery>;

export const MessageHit = Type.Object(
  {
    message: MessageViewSchema,
    highlight: Type.String({
      description: 'HTML-escaped snippet of the content; matches are wrapped in <mark>...</mark>',
    }),
  },
  { $id: 'MessageSearchHit' },
);

export const NameSearchQuery = Type.Object(
  {
    q: Type.String({ minLength: 1, maxLength: 100 }),
    limit: LimitQuery,
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type NameSearchQuery = Static<typeof NameSearchQuery>;

export const ConversationHit = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    type: Type.Union([Type.Literal('dm'), Type.Literal('group'), Type.Literal('external')]),
    name: Nullable(Type.String()),
    avatar_url: Nullable(Type.String()),
    last_seq: Type.Integer(),
    last_message_at: Nullable(Type.String({ format: 'date-time' })),
    partner: Nullable(
      Type.Object({
        id: Type.String({ format: 'uuid' }),
        username: Type.String(),
        display_name: Nullable(Type.String()),
        avatar_url: Nullable(Type.String()),
      }),
    ),
  },
  { $id: 'ConversationSearchHit', description: "A group found by name, or a DM found by its partner's name" },
);
export type ConversationHit = Static<typeof ConversationHit>;
