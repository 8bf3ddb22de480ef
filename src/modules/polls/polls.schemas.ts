// Poll payloads: create body, vote body, and the poll view (counts; voters only for non-anonymous polls).
import { type Static, Type } from 'typebox';
import { MessageViewSchema, Nullable } from '../messages/messages.schemas.js';

export const MIN_OPTIONS = 2;
export const MAX_OPTIONS = 12;

export const CreatePollBody = Type.Object(
  {
    question: Type.String({ minLength: 1, maxLength: 300 }),
    options: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
      minItems: MIN_OPTIONS,
      maxItems: MAX_OPTIONS,
    }),
    multiple_choice: Type.Optional(Type.Boolean({ default: false })),
    anonymous: Type.Optional(Type.Boolean({ default: false })),
    expires_at: Type.Optional(Type.String({ format: 'date-time' })),
    client_id: Type.Optional(Type.String({ format: 'uuid' })),
  },
  { additionalProperties: false },
);
export type CreatePollBody = Static<typeof CreatePollBody>;

export const VoteBody = Type.Object(
  {
    option_ids: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: MAX_OPTIONS }),
  },
  { additionalProperties: false },
);
export type VoteBody = Static<typeof VoteBody>;

export const PollOptionView = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    text: Type.String(),
    position: Type.Integer(),
    count: Type.Integer(),
    voters: Type.Optional(
      Type.Array(Type.String({ format: 'uuid' }), { description: 'Absent for anonymous polls' }),
    ),
  },
  { $id: 'PollOption' },
);

export const PollView = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    message_id: Type.String({ format: 'uuid' }),
    conversation_id: Type.String({ format: 'uuid' }),
    created_by: Nullable(Type.String({ format: 'uuid' })),
    question: Type.String(),
    multiple_choice: Type.Boolean(),
    anonymous: Type.Boolean(),
    expires_at: Nullable(Type.String({ format: 'date-time' })),
    closed_at: Nullable(Type.String({ format: 'date-time' })),
    closed: Type.Boolean({ description: 'Closed by hand or expired: votes are refused' }),
    total_voters: Type.Integer(),
    options: Type.Array(PollOptionView),
    my_option_ids: Type.Array(Type.String({ format: 'uuid' })),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Poll' },
);
export type PollView = Static<typeof PollView>;

export const CreatedPoll = Type.Object(
  { message: MessageViewSchema, poll: PollView },
  { $id: 'CreatedPoll' },
);
