// Shared by the notification suites: devices, settings and the rows the rules leave behind.
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { TestUser } from '../../helpers/factories.js';

export async function registerDevice(
  app: FastifyInstance,
  user: TestUser,
  push: object,
  platform: 'web' | 'android' | 'ios' = 'android',
): Promise<{ id: string }> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/devices',
    headers: user.headers,
    payload: { platform, push, name: 'test device' },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().data;
}

export async function patchSettings(
  app: FastifyInstance,
  user: TestUser,
  notifications: object,
): Promise<void> {
  const res = await app.inject({
    method: 'PATCH',
    url: '/api/v1/users/me',
    headers: user.headers,
    payload: { notifications },
  });
  expect(res.statusCode, res.body).toBe(200);
}

export function notificationsOf(app: FastifyInstance, userId: string) {
  return app.tma.db
    .selectFrom('notifications')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('id')
    .execute();
}

export function deliveriesOf(app: FastifyInstance, userId: string) {
  return app.tma.db
    .selectFrom('notification_deliveries as d')
    .innerJoin('notifications as n', 'n.id', 'd.notification_id')
    .select(['d.notification_id', 'd.device_id', 'd.status', 'd.attempts', 'd.coalesced', 'n.kind'])
    .where('n.user_id', '=', userId)
    .orderBy('n.id')
    .execute();
}
