// Request and response shapes of the friends endpoints.
import { type Static, Type } from 'typebox';
import { UserView } from '../users/users.schemas.js';

export const FriendView = Type.Object(
  {
    user: UserView,
    /** When the friendship was accepted. */
    since: Type.String({ format: 'date-time' }),
  },
  { $id: 'Friend' },
);
export type FriendView = Static<typeof FriendView>;

export const FriendRequestView = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    status: Type.Union([Type.Literal('pending'), Type.Literal('accepted'), Type.Literal('rejected')]),
    /** incoming: sent to the caller; outgoing: sent by the caller. */
    direction: Type.Union([Type.Literal('incoming'), Type.Literal('outgoing')]),
    /** The other person. */
    user: UserView,
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'FriendRequest' },
);
export type FriendRequestView = Static<typeof FriendRequestView>;

export const SendFriendRequestBody = Type.Union(
  [
    Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
    Type.Object({ user_id: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
  ],
  { description: 'Either the username or the user id of the person' },
);
export type SendFriendRequestBody = Static<typeof SendFriendRequestBody>;

export const RequestIdParams = Type.Object(
  { id: Type.String({ format: 'uuid' }) },
  { additionalProperties: false },
);
export const FriendIdParams = Type.Object(
  { user_id: Type.String({ format: 'uuid' }) },
  { additionalProperties: false },
);

export const RemoveFriendResult = Type.Object(
  {
    user_id: Type.String({ format: 'uuid' }),
    removed: Type.Boolean(),
  },
  { $id: 'FriendRemoval' },
);
