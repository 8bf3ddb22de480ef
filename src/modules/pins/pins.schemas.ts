// Pin payloads: a pinned message with who pinned it and when.
import { type Static, Type } from 'typebox';
import { MessageViewSchema, Nullable } from '../messages/messages.schemas.js';

export const PinView = Type.Object(
  {
    message: MessageViewSchema,
    pinned_by: Nullable(Type.String({ format: 'uuid' })),
    pinned_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Pin' },
);
export type PinView = Static<typeof PinView>;

export const PinStateView = Type.Object(
  {
    message_id: Type.String({ format: 'uuid' }),
    conversation_id: Type.String({ format: 'uuid' }),
    pinned: Type.Boolean(),
    pinned_by: Nullable(Type.String({ format: 'uuid' })),
    pinned_at: Nullable(Type.String({ format: 'date-time' })),
  },
  { $id: 'PinState' },
);
export type PinStateView = Static<typeof PinStateView>;
