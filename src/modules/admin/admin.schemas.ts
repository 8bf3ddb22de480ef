// Request and response schemas of /admin/*.
import { type Static, Type } from 'typebox';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Uuid = Type.String({ format: 'uuid' });
const Role = Type.Union([Type.Literal('admin'), Type.Literal('user')]);

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });

export const AdminUserView = Type.Object(
  {
    id: Uuid,
    username: Type.String(),
    display_name: Nullable(Type.String()),
    email: Nullable(Type.String()),
    role: Role,
    tms_user_id: Nullable(Type.String()),
    created_at: Type.String({ format: 'date-time' }),
    last_seen_at: Nullable(Type.String({ format: 'date-time' })),
    deactivated_at: Nullable(Type.String({ format: 'date-time' })),
  },
  { $id: 'AdminUser' },
);

export const ListUsersQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('deactivated')])),
    role: Type.Optional(Role),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
    cursor: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);
export type ListUsersQuery = Static<typeof ListUsersQuery>;

export const RoleBody = Type.Object({ role: Role }, { additionalProperties: false });
export type RoleBody = Static<typeof RoleBody>;

export const RevokeResult = Type.Object({ revoked: Type.Integer({ minimum: 0 }) });

export const RetentionView = Type.Object(
  {
    message_days: Nullable(Type.Integer({ minimum: 1 })),
    event_days: Type.Integer({ minimum: 1 }),
    file_days: Nullable(Type.Integer({ minimum: 1 })),
  },
  { $id: 'RetentionSettings' },
);

export const RetentionBody = Type.Object(
  {
    message_days: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 36_500 }))),
    event_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 36_500 })),
    file_days: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 36_500 }))),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type RetentionBody = Static<typeof RetentionBody>;

export const InviteView = Type.Object(
  {
    code: Type.Optional(Type.String({ description: 'Shown once, when the invite is created' })),
    id: Type.String(),
    max_uses: Type.Integer(),
    uses: Type.Integer(),
    expires_at: Type.String({ format: 'date-time' }),
    created_at: Type.String({ format: 'date-time' }),
    revoked: Type.Boolean(),
  },
  { $id: 'Invite' },
);

export const InviteBody = Type.Object(
  {
    max_uses: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'Default 1' })),
    expires_in_hours: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 24 * 90, description: 'Default 168 (a week)' }),
    ),
  },
  { additionalProperties: false },
);
export type InviteBody = Static<typeof InviteBody>;

export const InviteParams = Type.Object(
  { id: Type.String({ pattern: '^[0-9a-f]{16}$' }) },
  { additionalProperties: false },
);

export const AuditView = Type.Object(
  {
    id: Uuid,
    actor_id: Nullable(Uuid),
    action: Type.String(),
    target_type: Nullable(Type.String()),
    target_id: Nullable(Type.String()),
    details: Type.Record(Type.String(), Type.Unknown()),
    ip: Nullable(Type.String()),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'AuditEntry' },
);

export const AuditQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
    cursor: Type.Optional(Uuid),
    action: Type.Optional(Type.String({ pattern: '^[a-z_.]{1,64}$' })),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

/** Exports are the stored rows as JSON; their shape follows the tables (docs/operations.md). */
export const ExportView = Type.Object({}, { additionalProperties: true, description: 'Stored rows as JSON' });
