// Request and response shapes of the blocks endpoints.
import { type Static, Type } from 'typebox';
import { UserView } from '../users/users.schemas.js';

export const BlockView = Type.Object(
  {
    user: UserView,
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Block' },
);
export type BlockView = Static<typeof BlockView>;

export const UserIdParams = Type.Object(
  { user_id: Type.String({ format: 'uuid' }) },
  { additionalProperties: false },
);

export const UnblockResult = Type.Object(
  {
    user_id: Type.String({ format: 'uuid' }),
    blocked: Type.Literal(false),
  },
  { $id: 'Unblocked' },
);
