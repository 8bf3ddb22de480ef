// PUT|DELETE /messages/{id}/pin and GET /conversations/{id}/pins.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEventMap } from '../../../src/events/domain-events.js';
import { buildTestApp } from '../../helpers/app.js';
import { createDm, createGroup, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';
import { call } from '../conversations/messaging-helpers.js';

let app: FastifyInstance;
let admin: TestUser;
let member: TestUser;
let outsider: TestUser;
let group: { id: string };
const pinned: Array<DomainEventMap['message.pinned']> = [];

beforeAll(async () => {
  app = await buildTestApp();
  app.tma.bus.subscribe('message.pinned', (e) => {
    pinned.push(e);
  });
  [admin, member, outsider] = await Promise.all([createUser(app), createUser(app), createUser(app)]);
  group = await createGroup(app, admin, [member]);
});
afterAll(async () => {
  await app.close();
});

describe('PUT /messages/{id}/pin', () => {
  it('lets a group admin pin, idempotently, with one message.pinned event carrying a seq', async () => {
    const message = await sendMessage(app, member, group.id, 'pin me');
    const res = await call(app, admin, 'PUT', `/messages/${message.id}/pin`);
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({
      message_id: message.id,
      conversation_id: group.id,
      pinned: true,
      pinned_by: admin.user.id,
    });
    const again = await call(app, admin, 'PUT', `/messages/${message.id}/pin`);
    expect(again.statusCode).toBe(200);
    expect(again.json().data.pinned).toBe(true);
    const events = pinned.filter((e) => e.message_id === message.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ pinned: true, user_id: admin.user.id, conversation_id: group.id });
    expect(events[0]?.seq).toBeGreaterThan(message.seq);
    const list = await call(app, member, 'GET', `/conversations/${group.id}/pins`);
    expect(list.statusCode).toBe(200);
    expect(list.json().data[0]).toMatchObject({
      message: { id: message.id, content: 'pin me' },
      pinned_by: admin.user.id,
    });
    expect(list.json().pagination).toEqual({ next_cursor: null, has_more: false });
  });

  it('refuses members who are not group admins with 403', async () => {
    const message = await sendMessage(app, member, group.id, 'not yours to pin');
    const res = await call(app, member, 'PUT', `/messages/${message.id}/pin`);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('admin_required');
    expect((await call(app, member, 'DELETE', `/messages/${message.id}/pin`)).statusCode).toBe(403);
  });

  it('lets anyone in a DM pin and unpin', async () => {
    const dm = await createDm(app, member, outsider);
    const message = await sendMessage(app, outsider, dm.id, 'dm pin');
    expect((await call(app, member, 'PUT', `/messages/${message.id}/pin`)).json().data.pinned).toBe(true);
    expect((await call(app, outsider, 'DELETE', `/messages/${message.id}/pin`)).json().data.pinned).toBe(
      false,
    );
  });

  it('answers 404 to non-members, for unknown messages and pin lists of others', async () => {
    const message = await sendMessage(app, admin, group.id, 'secret');
    expect((await call(app, outsider, 'PUT', `/messages/${message.id}/pin`)).statusCode).toBe(404);
    expect((await call(app, outsider, 'DELETE', `/messages/${message.id}/pin`)).statusCode).toBe(404);
    expect((await call(app, outsider, 'GET', `/conversations/${group.id}/pins`)).statusCode).toBe(404);
    const unknown = await call(app, admin, 'PUT', '/messages/0190f000-0000-7000-8000-000000000000/pin');
    expect(unknown.statusCode).toBe(404);
  });

  it('answers 400 to malformed ids, 401 without a token, 422 for a deleted message', async () => {
    expect((await call(app, admin, 'PUT', '/messages/nope/pin')).statusCode).toBe(400);
    expect((await call(app, admin, 'GET', '/conversations/nope/pins')).statusCode).toBe(400);
    const message = await sendMessage(app, admin, group.id, 'to delete');
    expect((await call(app, null, 'PUT', `/messages/${message.id}/pin`)).statusCode).toBe(401);
    await call(app, admin, 'DELETE', `/messages/${message.id}`);
    const res = await call(app, admin, 'PUT', `/messages/${message.id}/pin`);
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('message_deleted');
  });

  it('caps pins at 50 per conversation (422), and hides pins of deleted messages', async () => {
    const room = await createGroup(app, admin, [member], { name: 'Pinboard' });
    const ids: string[] = [];
    for (let i = 0; i < 51; i++) ids.push((await sendMessage(app, admin, room.id, `note ${i}`)).id);
    for (const id of ids.slice(0, 50)) {
      expect((await call(app, admin, 'PUT', `/messages/${id}/pin`)).statusCode).toBe(200);
    }
    const over = await call(app, admin, 'PUT', `/messages/${ids[50]}/pin`);
    expect(over.statusCode).toBe(422);
    expect(over.json().error.code).toBe('too_many_pins');
    await call(app, admin, 'DELETE', `/messages/${ids[0]}`);
    const list = await call(app, member, 'GET', `/conversations/${room.id}/pins`);
    expect(list.json().data).toHaveLength(49);
    expect(list.json().data[0].message.id).toBe(ids[49]);
  });
});

describe('DELETE /messages/{id}/pin', () => {
  it('unpins idempotently with one event', async () => {
    const message = await sendMessage(app, admin, group.id, 'temporary');
    await call(app, admin, 'PUT', `/messages/${message.id}/pin`);
    const res = await call(app, admin, 'DELETE', `/messages/${message.id}/pin`);
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({ pinned: false, pinned_by: null, pinned_at: null });
    expect((await call(app, admin, 'DELETE', `/messages/${message.id}/pin`)).statusCode).toBe(200);
    const events = pinned.filter((e) => e.message_id === message.id);
    expect(events.map((e) => e.pinned)).toEqual([true, false]);
    const list = await call(app, admin, 'GET', `/conversations/${group.id}/pins`);
    expect(list.json().data.map((p: { message: { id: string } }) => p.message.id)).not.toContain(message.id);
  });
});
