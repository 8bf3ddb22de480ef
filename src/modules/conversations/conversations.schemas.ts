// Conversation payloads of the REST API: the conversation view, members, create/update bodies, mute.
import { type Static, Type } from 'typebox';
import { LimitQuery } from '../../http/envelope.js';
import { MessageViewSchema, Nullable } from '../messages/messages.schemas.js';

export const MAX_NAME_LENGTH = 100;
export const MAX_DESCRIPTION_LENGTH = 1000;

export const MemberViewSchema = Type.Object(
  {
    user_id: Type.String({ format: 'uuid' }),
    role: Type.Union([Type.Literal('admin'), Type.Literal('member')]),
    joined_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Member' },
);
export type MemberView = Static<typeof MemberViewSchema>;

export const ConversationViewSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    type: Type.Union([Type.Literal('dm'), Type.Literal('group'), Type.Literal('external')], {
      description: 'external: a customer thread of a channel inbox (docs/channels.md)',
    }),
    name: Nullable(Type.String()),
    description: Nullable(Type.String()),
    avatar_url: Nullable(Type.String()),
    created_by: Nullable(Type.String()),
    last_seq: Type.Integer(),
    last_message: Nullable(MessageViewSchema),
    unread_count: Type.Integer(),
    muted_until: Nullable(Type.String({ format: 'date-time' })),
    my_role: Type.Union([Type.Literal('admin'), Type.Literal('member')]),
    delivered_seq: Type.Integer(),
    read_seq: Type.Integer(),
    members: Type.Array(MemberViewSchema),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Conversation' },
);
export type ConversationView = Static<typeof ConversationViewSchema>;

const UserIds = Type.Array(Type.String({ format: 'uuid' }), { maxItems: 1000 });

export const CreateConversationBody = Type.Object(
  {
    type: Type.Union([Type.Literal('dm'), Type.Literal('group')]),
    member_ids: UserIds,
    name: Type.Optional(Type.String({ maxLength: MAX_NAME_LENGTH })),
    description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION_LENGTH })),
    avatar_url: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: false },
);
export type CreateConversationInput = Static<typeof CreateConversationBody>;

export const UpdateConversationBody = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: MAX_NAME_LENGTH })),
    description: Type.Optional(Nullable(Type.String({ maxLength: MAX_DESCRIPTION_LENGTH }))),
    avatar_url: Type.Optional(Nullable(Type.String({ maxLength: 2048 }))),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateConversationInput = Static<typeof UpdateConversationBody>;

export const AddMembersBody = Type.Object(
  { member_ids: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);

export const UpdateMemberBody = Type.Object(
  { role: Type.Union([Type.Literal('admin'), Type.Literal('member')]) },
  { additionalProperties: false },
);

export const MuteBody = Type.Object(
  {
    muted_until: Type.Optional(Nullable(Type.String({ format: 'date-time' }))),
    forever: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type MuteInput = Static<typeof MuteBody>;

export const MuteViewSchema = Type.Object(
  {
    conversation_id: Type.String({ format: 'uuid' }),
    muted_until: Nullable(Type.String({ format: 'date-time' })),
  },
  { $id: 'MuteState' },
);

export const ListConversationsQuery = Type.Object(
  { limit: Type.Optional(LimitQuery), cursor: Type.Optional(Type.String({ maxLength: 200 })) },
  { additionalProperties: false },
);

export const ConversationParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const MemberParams = Type.Object({
  id: Type.String({ format: 'uuid' }),
  user_id: Type.String({ format: 'uuid' }),
});
