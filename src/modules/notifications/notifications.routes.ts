// Notification endpoints: devices, the VAPID key, the in-app list and read marker, and the digest unsubscribe link.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../context.js';
import { Envelope, errors, LimitQuery, ListEnvelope, ok, page } from '../../http/envelope.js';
import { actorOf } from '../../identity/actor.js';
import type { DigestService } from './digest.js';
import {
  DeviceIdParams,
  DeviceView,
  NotificationView,
  ReadNotificationsBody,
  ReadNotificationsResult,
  type RegisterDeviceBody,
  RegisterDeviceBody as RegisterDeviceSchema,
  UnsubscribeQuery,
  UnsubscribeResult,
  VapidKeyView,
} from './notifications.schemas.js';

export async function notificationsRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  digest: DigestService,
): Promise<void> {
  const service = ctx.services.notifications;

  app.post<{ Body: RegisterDeviceBody }>(
    '/devices',
    {
      schema: {
        tags: ['notifications'],
        operationId: 'registerDevice',
        summary:
          'Register a device for push (a Web Push subscription or an FCM token); idempotent per push target',
        description:
          'A Web Push endpoint must be https and never a private or loopback address (unless its host is in PUSH_ENDPOINT_ALLOWLIST).',
        body: RegisterDeviceSchema,
        response: { 201: Envelope(DeviceView), ...errors(400, 401) },
      },
    },
    async (request, reply) => {
      reply.code(201);
      return ok(await service.registerDevice(actorOf(request), request.body));
    },
  );

  app.get(
    '/devices',
    {
      schema: {
        tags: ['notifications'],
        operationId: 'listDevices',
        summary: "The caller's push devices",
        description:
          'Web Push subscriptions and FCM tokens; a device the push service reported gone is deleted.',
        response: { 200: Envelope(Type.Array(DeviceView)), ...errors(401) },
      },
    },
    async (request) => ok(await service.listDevices(actorOf(request))),
  );

  app.delete<{ Params: { id: string } }>(
    '/devices/:id',
    {
      schema: {
        tags: ['notifications'],
        operationId: 'deleteDevice',
        summary: 'Unregister one of the caller’s devices',
        description: "404 for an unknown id or someone else's device.",
        params: DeviceIdParams,
        response: { 200: Envelope(Type.Object({ deleted: Type.Literal(true) })), ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      await service.deleteDevice(actorOf(request), request.params.id);
      return ok({ deleted: true as const });
    },
  );

  app.get(
    '/push/vapid-public-key',
    {
      schema: {
        tags: ['notifications'],
        operationId: 'getVapidPublicKey',
        summary: "The server's VAPID public key (applicationServerKey for PushManager.subscribe)",
        description: 'Base64url, uncompressed P-256; the same key signs the VAPID JWT of every Web Push.',
        response: { 200: Envelope(VapidKeyView), ...errors(401) },
      },
    },
    async () => ok(service.vapidPublicKey()),
  );

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/notifications',
    {
      schema: {
        tags: ['notifications'],
        operationId: 'listNotifications',
        summary: 'In-app notifications (mentions, replies, added to a group, missed calls), newest first',
        description: 'Page with `cursor` (the next_cursor of the previous page); `limit` defaults to 50.',
        querystring: Type.Object(
          { limit: LimitQuery, cursor: Type.Optional(Type.String({ format: 'uuid' })) },
          { additionalProperties: false },
        ),
        response: { 200: ListEnvelope(NotificationView), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { items, nextCursor } = await service.list(
        actorOf(request),
        request.query.limit,
        request.query.cursor,
      );
      return page(items, nextCursor);
    },
  );

  app.post<{ Body: { up_to_id: string } }>(
    '/notifications/read',
    {
      schema: {
        tags: ['notifications'],
        operationId: 'readNotifications',
        summary: 'Mark every in-app notification up to and including `up_to_id` as read',
        description: 'Answers how many were marked and how many stay unread.',
        body: ReadNotificationsBody,
        response: { 200: Envelope(ReadNotificationsResult), ...errors(400, 401) },
      },
    },
    async (request) => ok(await service.markRead(actorOf(request), request.body.up_to_id)),
  );

  app.get<{ Querystring: { token: string } }>(
    '/notifications/unsubscribe',
    {
      config: { public: true },
      schema: {
        tags: ['notifications'],
        operationId: 'unsubscribeDigest',
        summary: 'Turn e-mail digests off (the signed link of every digest; no login)',
        description: 'The token is signed with the server secret; a forged or truncated one answers 400.',
        security: [],
        querystring: UnsubscribeQuery,
        response: { 200: Envelope(UnsubscribeResult), ...errors(400) },
      },
    },
    async (request) => {
      await digest.unsubscribe(request.query.token);
      return ok({ email_digest: false as const });
    },
  );
}
