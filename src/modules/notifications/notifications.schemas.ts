// Devices, in-app notifications and the unsubscribe link: request and response shapes (DESIGN.md section 16).
import { type Static, Type } from 'typebox';
import type { DeviceRow, NotificationRow } from './notifications.repository.js';

const Uuid = Type.String({ format: 'uuid' });

export const WebPushSubscription = Type.Object(
  {
    endpoint: Type.String({ minLength: 1, maxLength: 2048 }),
    keys: Type.Object(
      {
        p256dh: Type.String({ minLength: 16, maxLength: 256, pattern: '^[A-Za-z0-9_=-]+$' }),
        auth: Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9_=-]+$' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export const FcmToken = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 4096, pattern: '^[\\x21-\\x7e]+$' }) },
  { additionalProperties: false },
);

export const RegisterDeviceBody = Type.Object(
  {
    platform: Type.Union([Type.Literal('web'), Type.Literal('android'), Type.Literal('ios')]),
    push: Type.Union([WebPushSubscription, FcmToken]),
    name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type RegisterDeviceBody = Static<typeof RegisterDeviceBody>;

export const DeviceView = Type.Object(
  {
    id: Uuid,
    platform: Type.Union([Type.Literal('web'), Type.Literal('android'), Type.Literal('ios')]),
    /** web_push: a Web Push subscription; fcm: an FCM registration token. */
    transport: Type.Union([Type.Literal('web_push'), Type.Literal('fcm')]),
    name: Type.Union([Type.String(), Type.Null()]),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Device' },
);
export type DeviceView = Static<typeof DeviceView>;

export const DeviceIdParams = Type.Object({ id: Uuid }, { additionalProperties: false });

export const VapidKeyView = Type.Object({ public_key: Type.String() }, { $id: 'VapidPublicKey' });

export const NotificationKind = Type.Union([
  Type.Literal('message'),
  Type.Literal('mention'),
  Type.Literal('reply'),
  Type.Literal('added'),
  Type.Literal('missed_call'),
]);

export const NotificationView = Type.Object(
  {
    id: Uuid,
    kind: NotificationKind,
    conversation_id: Type.Union([Uuid, Type.Null()]),
    message_id: Type.Union([Uuid, Type.Null()]),
    actor_id: Type.Union([Uuid, Type.Null()]),
    title: Type.String(),
    /** Empty when the recipient's preview setting is off. */
    body: Type.String(),
    created_at: Type.String({ format: 'date-time' }),
    read: Type.Boolean(),
  },
  { $id: 'Notification' },
);
export type NotificationView = Static<typeof NotificationView>;

export const ReadNotificationsBody = Type.Object({ up_to_id: Uuid }, { additionalProperties: false });
export const ReadNotificationsResult = Type.Object(
  { marked: Type.Integer({ minimum: 0 }), unread: Type.Integer({ minimum: 0 }) },
  { $id: 'NotificationsRead' },
);

export const UnsubscribeQuery = Type.Object(
  { token: Type.String({ minLength: 10, maxLength: 512 }) },
  { additionalProperties: false },
);
export const UnsubscribeResult = Type.Object(
  { email_digest: Type.Literal(false) },
  { $id: 'DigestUnsubscribed' },
);

export function toDeviceView(row: DeviceRow): DeviceView {
  return {
    id: row.id,
    platform: row.platform,
    transport: row.push_keys ? 'web_push' : 'fcm',
    name: row.name,
    created_at: row.created_at.toISOString(),
  };
}

export function toNotificationView(row: NotificationRow): NotificationView {
  const payload = row.payload as { title?: string; body?: string };
  return {
    id: row.id,
    kind: row.kind,
    conversation_id: row.conversation_id,
    message_id: row.message_id,
    actor_id: row.actor_id,
    title: payload.title ?? '',
    body: payload.body ?? '',
    created_at: row.created_at.toISOString(),
    read: row.read_at !== null,
  };
}
