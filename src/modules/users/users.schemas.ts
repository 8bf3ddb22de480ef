// The user as clients see it, and the privacy / notification settings stored in users.settings.
import { type Static, Type } from 'typebox';
import type { UserRow } from '../../db/schema.js';

export const PrivacySettings = Type.Object({
  last_seen: Type.Union([Type.Literal('everyone'), Type.Literal('contacts'), Type.Literal('nobody')]),
  online: Type.Boolean(),
  read_receipts: Type.Boolean(),
});
export type PrivacySettings = Static<typeof PrivacySettings>;

const ClockTime = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM' });
/** Pushes are held from `from` to `to` (local time in `tz`, an IANA zone); in-app items are not. */
export const QuietHours = Type.Object(
  { from: ClockTime, to: ClockTime, tz: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
export type QuietHours = Static<typeof QuietHours>;

export const NotificationSettings = Type.Object({
  enabled: Type.Boolean(),
  sound: Type.Boolean(),
  /** Message text in pushes and e-mails; off: only who wrote where. */
  preview: Type.Boolean(),
  mentions_only: Type.Boolean(),
  /** Mentions, @all and replies to me notify even in muted conversations. */
  mentions_override_mute: Type.Boolean(),
  quiet_hours: Type.Union([QuietHours, Type.Null()]),
  email_digest: Type.Boolean(),
});
export type NotificationSettings = Static<typeof NotificationSettings>;

export const DEFAULT_PRIVACY: PrivacySettings = { last_seen: 'everyone', online: true, read_receipts: true };
export const DEFAULT_NOTIFICATIONS: NotificationSettings = {
  enabled: true,
  sound: true,
  preview: true,
  mentions_only: false,
  mentions_override_mute: true,
  quiet_hours: null,
  email_digest: true,
};

export const UserView = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    username: Type.String(),
    display_name: Type.Union([Type.String(), Type.Null()]),
    avatar_url: Type.Union([Type.String(), Type.Null()]),
    position: Type.Union([Type.String(), Type.Null()]),
    role: Type.Union([Type.Literal('admin'), Type.Literal('user')]),
    created_at: Type.String({ format: 'date-time' }),
    deactivated: Type.Boolean(),
  },
  { $id: 'User' },
);
export type UserView = Static<typeof UserView>;

/** What a user sees of themself: their view plus email and settings. */
export const SelfView = Type.Object(
  {
    ...UserView.properties,
    email: Type.Union([Type.String(), Type.Null()]),
    tms_user_id: Type.Union([Type.String(), Type.Null()]),
    settings: Type.Object({ privacy: PrivacySettings, notifications: NotificationSettings }),
  },
  { $id: 'CurrentUser', description: 'The caller: their user view plus email and settings' },
);
export type SelfView = Static<typeof SelfView>;

export function userSettings(row: Pick<UserRow, 'settings'>): {
  privacy: PrivacySettings;
  notifications: NotificationSettings;
} {
  const stored = (row.settings ?? {}) as {
    privacy?: Partial<PrivacySettings>;
    notifications?: Partial<NotificationSettings>;
  };
  return {
    privacy: { ...DEFAULT_PRIVACY, ...(stored.privacy ?? {}) },
    notifications: { ...DEFAULT_NOTIFICATIONS, ...(stored.notifications ?? {}) },
  };
}

export function toUserView(row: UserRow): UserView {
  return {
    id: row.id,
    username: row.username,
    display_name: row.display_name,
    avatar_url: row.avatar_url,
    position: row.position,
    role: row.role,
    created_at: row.created_at.toISOString(),
    deactivated: row.deactivated_at !== null,
  };
}

export function toSelfView(row: UserRow): SelfView {
  return {
    ...toUserView(row),
    email: row.email,
    tms_user_id: row.tms_user_id,
    settings: userSettings(row),
  };
}

/** Another user as seen by the caller: presence honours their privacy, plus the caller's relation to them. */
export const UserProfileView = Type.Object(
  {
    ...UserView.properties,
    /** null when unknown or hidden by the user's privacy settings. */
    last_seen_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    friendship: Type.Union([
      Type.Literal('none'),
      Type.Literal('friends'),
      Type.Literal('incoming'),
      Type.Literal('outgoing'),
    ]),
    /** Whether the caller blocked this user. */
    blocked: Type.Boolean(),
  },
  { $id: 'UserProfile' },
);
export type UserProfileView = Static<typeof UserProfileView>;

const NullableText = (maxLength: number, minLength = 0) =>
  Type.Union([Type.String({ minLength, maxLength }), Type.Null()]);

/** PATCH /users/me: every field optional; privacy and notifications merge into the stored settings. */
export const UpdateMeBody = Type.Object(
  {
    display_name: Type.Optional(NullableText(100, 1)),
    avatar_url: Type.Optional(
      Type.Union([
        Type.String({
          maxLength: 2048,
          pattern: '^(https?://[^\\s]+|/api/v1/files/[0-9a-f-]{36}/content)$',
          description: 'An http(s) URL, or /api/v1/files/{id}/content naming your own completed image upload',
        }),
        Type.Null(),
      ]),
    ),
    position: Type.Optional(NullableText(100)),
    privacy: Type.Optional(
      Type.Object(
        {
          last_seen: Type.Optional(PrivacySettings.properties.last_seen),
          online: Type.Optional(Type.Boolean()),
          read_receipts: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    notifications: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean()),
          sound: Type.Optional(Type.Boolean()),
          preview: Type.Optional(Type.Boolean()),
          mentions_only: Type.Optional(Type.Boolean()),
          mentions_override_mute: Type.Optional(Type.Boolean()),
          quiet_hours: Type.Optional(Type.Union([QuietHours, Type.Null()])),
          email_digest: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type UpdateMeBody = Static<typeof UpdateMeBody>;
