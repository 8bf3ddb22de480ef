// External channel payloads: inboxes, the channel message view, the send body, list queries (docs/channels.md).
import { type Static, Type } from 'typebox';
import { LimitQuery } from '../../http/envelope.js';
import { Nullable } from '../messages/messages.schemas.js';
import { SMS_MAX_CHARS, SUBJECT_MAX_CHARS } from './addresses.js';

const Address = Type.String({ minLength: 3, maxLength: 254 });
const ChannelSchema = Type.Union([Type.Literal('sms'), Type.Literal('mms'), Type.Literal('email')]);
const InboxChannelSchema = Type.Union([Type.Literal('sms'), Type.Literal('email')]);
export const StatusSchema = Type.Union([
  Type.Literal('queued'),
  Type.Literal('sending'),
  Type.Literal('sent'),
  Type.Literal('delivered'),
  Type.Literal('failed'),
  Type.Literal('undelivered'),
  Type.Literal('received'),
]);

export const InboxViewSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    channel: InboxChannelSchema,
    address: Type.String(),
    name: Type.String(),
    member_ids: Type.Array(Type.String({ format: 'uuid' })),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'ChannelInbox' },
);
export type InboxView = Static<typeof InboxViewSchema>;

export const CreateInboxBody = Type.Object(
  {
    channel: Type.Union([Type.Literal('sms'), Type.Literal('mms'), Type.Literal('email')], {
      description: 'sms and mms both make a phone-number inbox',
    }),
    address: Address,
    name: Type.String({ minLength: 1, maxLength: 100 }),
    member_ids: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 500 }),
  },
  { additionalProperties: false },
);
export type CreateInboxInput = Static<typeof CreateInboxBody>;

export const InboxParams = Type.Object(
  { id: Type.String({ format: 'uuid' }) },
  { additionalProperties: false },
);
export const InboxMemberParams = Type.Object(
  { id: Type.String({ format: 'uuid' }), user_id: Type.String({ format: 'uuid' }) },
  { additionalProperties: false },
);
export const InboxMembersBody = Type.Object(
  { user_ids: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 500 }) },
  { additionalProperties: false },
);

export const ChannelEventSchema = Type.Object({
  status: Type.String(),
  provider: Nullable(Type.String()),
  detail: Type.Record(Type.String(), Type.Unknown()),
  created_at: Type.String({ format: 'date-time' }),
});

export const ChannelMessageViewSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    conversation_id: Type.String({ format: 'uuid' }),
    message_id: Nullable(Type.String({ format: 'uuid' })),
    inbox_id: Type.String({ format: 'uuid' }),
    direction: Type.Union([Type.Literal('outbound'), Type.Literal('inbound')]),
    channel: ChannelSchema,
    from: Type.String(),
    to: Type.String(),
    subject: Nullable(Type.String()),
    body: Type.String(),
    segments: Type.Integer(),
    status: StatusSchema,
    provider: Nullable(Type.String()),
    provider_message_id: Nullable(Type.String()),
    error: Nullable(Type.Object({ code: Nullable(Type.String()), message: Nullable(Type.String()) })),
    events: Type.Optional(Type.Array(ChannelEventSchema)),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'ChannelMessage' },
);
export type ChannelMessageView = Static<typeof ChannelMessageViewSchema>;

export const SendChannelMessageBody = Type.Object(
  {
    channel: ChannelSchema,
    from: Type.String({ minLength: 1, maxLength: 254, description: "The inbox's number or address" }),
    to: Type.String({ minLength: 1, maxLength: 254 }),
    body: Type.String({ maxLength: 12_000, description: `SMS/MMS: at most ${SMS_MAX_CHARS} characters` }),
    subject: Type.Optional(Type.String({ maxLength: SUBJECT_MAX_CHARS })),
    attachments: Type.Optional(
      Type.Array(Type.String({ format: 'uuid' }), {
        minItems: 1,
        maxItems: 10,
        description:
          'Ids of your completed uploads: MMS media (an sms with files goes as mms) or e-mail attachments',
      }),
    ),
  },
  { additionalProperties: false },
);
export type SendChannelMessageInput = Static<typeof SendChannelMessageBody>;

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.String({
    minLength: 1,
    maxLength: 255,
    pattern: '^[\\x21-\\x7E]+$',
    description: 'Required: a retry with the same key returns the first result and never sends twice',
  }),
});

export const ListChannelMessagesQuery = Type.Object(
  {
    conversation_id: Type.String({ format: 'uuid' }),
    status: Type.Optional(StatusSchema),
    limit: LimitQuery,
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type ListChannelMessagesQuery = Static<typeof ListChannelMessagesQuery>;

export const ExternalConversationSchema = Type.Object(
  {
    conversation_id: Type.String({ format: 'uuid' }),
    inbox_id: Type.String({ format: 'uuid' }),
    inbox_address: Type.String(),
    external_participants: Type.Array(Type.Object({ address: Type.String(), channel: ChannelSchema })),
    last_seq: Type.Integer(),
    last_message_at: Nullable(Type.String({ format: 'date-time' })),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'ExternalConversation' },
);
export type ExternalConversationView = Static<typeof ExternalConversationSchema>;

export const ListExternalConversationsQuery = Type.Object(
  {
    participant: Type.Optional(Address),
    limit: LimitQuery,
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type ListExternalConversationsQuery = Static<typeof ListExternalConversationsQuery>;
