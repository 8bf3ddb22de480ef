// Message payloads of the REST API: the message view, send/edit bodies, history and receipts.
import { type TSchema, Type } from 'typebox';
import { LimitQuery, SeqNumber } from '../../http/envelope.js';
import { FileViewSchema } from '../files/files.schemas.js';

export const MAX_CONTENT_LENGTH = 10_000;
/** Schema cap before trimming: leaves room for surrounding whitespace; the exact limit applies after trim. */
const MAX_RAW_CONTENT_LENGTH = MAX_CONTENT_LENGTH + 1_000;
/** Serialised size cap of `metadata` (bytes of JSON). */
export const MAX_METADATA_BYTES = 16 * 1024;

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ReactionSummarySchema = Type.Object(
  {
    emoji: Type.String(),
    count: Type.Integer(),
    me: Type.Boolean(),
  },
  { $id: 'ReactionSummary' },
);

export const MessageTypeSchema = Type.Union([
  Type.Literal('text'),
  Type.Literal('image'),
  Type.Literal('file'),
  Type.Literal('voice'),
  Type.Literal('poll'),
  Type.Literal('call'),
  Type.Literal('system'),
]);

export const MessageViewSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    conversation_id: Type.String({ format: 'uuid' }),
    seq: Type.Integer(),
    sender_id: Nullable(Type.String()),
    client_id: Nullable(Type.String()),
    type: MessageTypeSchema,
    content: Nullable(Type.String()),
    metadata: Type.Record(Type.String(), Type.Unknown()),
    reply_to_id: Nullable(Type.String()),
    forwarded_from_id: Nullable(Type.String()),
    created_at: Type.String({ format: 'date-time' }),
    edited_at: Nullable(Type.String({ format: 'date-time' })),
    deleted_at: Nullable(Type.String({ format: 'date-time' })),
    reactions: Type.Array(ReactionSummarySchema),
    attachments: Type.Array(FileViewSchema),
  },
  { $id: 'Message' },
);

export const MessageIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const ConversationIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const SendMessageBody = Type.Object(
  {
    content: Type.Optional(Type.String({ maxLength: MAX_RAW_CONTENT_LENGTH })),
    type: Type.Optional(
      Type.Union([Type.Literal('text'), Type.Literal('image'), Type.Literal('file'), Type.Literal('voice')]),
    ),
    client_id: Type.Optional(Type.String({ format: 'uuid' })),
    reply_to_id: Type.Optional(Nullable(Type.String({ format: 'uuid' }))),
    forwarded_from_id: Type.Optional(Type.String({ format: 'uuid' })),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { maxProperties: 50 })),
    /** image/file/voice messages: the sender's own ready files (docs/files.md). */
    attachments: Type.Optional(
      Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 10, uniqueItems: true }),
    ),
  },
  { additionalProperties: false },
);

export const EditMessageBody = Type.Object(
  {
    content: Type.String({ maxLength: MAX_RAW_CONTENT_LENGTH }),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { maxProperties: 50 })),
  },
  { additionalProperties: false },
);

export const HistoryQuery = Type.Object(
  {
    before_seq: Type.Optional(SeqNumber(1)),
    after_seq: Type.Optional(SeqNumber()),
    limit: Type.Optional(LimitQuery),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const ReceiptSchema = Type.Object(
  {
    user_id: Type.String({ format: 'uuid' }),
    status: Type.Union([Type.Literal('sent'), Type.Literal('delivered'), Type.Literal('read')]),
    at: Nullable(Type.String({ format: 'date-time' })),
  },
  { $id: 'Receipt' },
);

export const WatermarkBody = Type.Object({ seq: SeqNumber() }, { additionalProperties: false });

export const WatermarksSchema = Type.Object(
  {
    conversation_id: Type.String({ format: 'uuid' }),
    delivered_seq: Type.Integer(),
    read_seq: Type.Integer(),
  },
  { $id: 'Watermarks' },
);
