// Who is notified (DESIGN.md section 16): sender excluded, blocks, enabled, mute and the mention override, viewers,
// quiet hours, coalescing; in-app list, read marker and the `notification` event. Workers are off: the tests run the
// rules and the window flush themselves and look at the rows they leave.
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FLUSH_QUEUE } from '../../../src/modules/notifications/push.jobs.js';
import { buildTestApp } from '../../helpers/app.js';
import { createGroup, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';
import { closeAllSockets, connectSocket, emitWithAck, nextEvent } from '../../helpers/sockets.js';
import { deliveriesOf, notificationsOf, patchSettings, registerDevice } from './helpers.js';

let app: FastifyInstance;
let alice: TestUser;

beforeAll(async () => {
  app = await buildTestApp({ JOB_WORKERS: 'false', PUSH_COALESCE_MS: '60000' });
  alice = await createUser(app, { username: `alice_${Date.now()}` });
});
afterAll(() => app.close());
afterEach(() => closeAllSockets());

/** A fresh member with a device, in a fresh group with alice. */
async function memberWithDevice(name = 'bob'): Promise<{ user: TestUser; group: string; device: string }> {
  const user = await createUser(app, { username: `${name}_${Math.random().toString(36).slice(2, 8)}` });
  const group = await createGroup(app, alice, [user]);
  const device = await registerDevice(app, user, { token: `fcm-${user.user.id}` });
  return { user, group: group.id, device: device.id };
}

async function send(conversationId: string, content: string, from = alice) {
  const message = await sendMessage(app, from, conversationId, content);
  await app.tma.services.notifications.onMessage(message.id);
  return message;
}

describe('who is notified of a message', () => {
  it('notifies a member with a device and never the sender', async () => {
    const { user, group, device } = await memberWithDevice();
    await send(group, 'hello');
    const rows = await deliveriesOf(app, user.user.id);
    expect(rows).toMatchObject([{ device_id: device, status: 'pending', kind: 'message' }]);
    expect(await notificationsOf(app, alice.user.id)).toEqual([]);
    const [note] = await notificationsOf(app, user.user.id);
    expect(note?.payload).toMatchObject({ body: 'hello' });
    expect(note?.in_app).toBe(false);
  });

  it('sends no text when the preview setting is off', async () => {
    const { user, group } = await memberWithDevice();
    await patchSettings(app, user, { preview: false });
    await send(group, 'secret plans');
    const [note] = await notificationsOf(app, user.user.id);
    expect(JSON.stringify(note?.payload)).not.toContain('secret');
  });

  it('skips members who blocked the sender', async () => {
    const { user, group } = await memberWithDevice();
    const res = await app.inject({
      method: 'PUT',
      url: `/api/v1/blocks/${alice.user.id}`,
      headers: user.headers,
    });
    expect(res.statusCode).toBe(200);
    await send(group, 'can you hear me');
    expect(await notificationsOf(app, user.user.id)).toEqual([]);
  });

  it('skips members whose notifications are off', async () => {
    const { user, group } = await memberWithDevice();
    await patchSettings(app, user, { enabled: false });
    await send(group, `@${user.user.username} hello`);
    expect(await notificationsOf(app, user.user.id)).toEqual([]);
  });

  it('mute silences messages; a mention overrides it unless the setting says no', async () => {
    const { user, group } = await memberWithDevice();
    const mute = await app.inject({
      method: 'PUT',
      url: `/api/v1/conversations/${group}/mute`,
      headers: user.headers,
      payload: { forever: true },
    });
    expect(mute.statusCode, mute.body).toBe(200);
    await send(group, 'plain message');
    expect(await notificationsOf(app, user.user.id)).toEqual([]);

    await send(group, `look @${user.user.username}`);
    const rows = await notificationsOf(app, user.user.id);
    expect(rows.map((r) => [r.kind, r.in_app])).toEqual([['mention', true]]);

    await patchSettings(app, user, { mentions_override_mute: false });
    await send(group, `again @${user.user.username}`);
    expect(await notificationsOf(app, user.user.id)).toHaveLength(1);
  });

  it('a reply to my message is a reply notification, in-app too', async () => {
    const { user, group } = await memberWithDevice();
    const mine = await sendMessage(app, user, group, 'my question');
    const answer = await sendMessage(app, alice, group, { content: 'my answer', reply_to_id: mine.id });
    await app.tma.services.notifications.onMessage(answer.id);
    const rows = await notificationsOf(app, user.user.id);
    expect(rows.map((r) => [r.kind, r.in_app])).toEqual([['reply', true]]);
  });

  it('skips a member viewing the conversation on any device, and notifies them once they leave', async () => {
    const { user, group } = await memberWithDevice();
    const socket = await connectSocket(app, user.token);
    expect((await emitWithAck(socket, 'join_conversation', { conversation_id: group })).ok).toBe(true);
    await send(group, 'you are looking at this');
    expect(await notificationsOf(app, user.user.id)).toEqual([]);

    expect((await emitWithAck(socket, 'leave_conversation', { conversation_id: group })).ok).toBe(true);
    await send(group, 'now you are not');
    expect(await notificationsOf(app, user.user.id)).toHaveLength(1);
  });

  it('forgets the view when the socket disconnects', async () => {
    const { user, group } = await memberWithDevice();
    const socket = await connectSocket(app, user.token);
    await emitWithAck(socket, 'join_conversation', { conversation_id: group });
    socket.close();
    await expect
      .poll(async () => (await app.tma.services.notifications.viewing.viewers(group, [user.user.id])).size)
      .toBe(0);
    await send(group, 'gone away');
    expect(await notificationsOf(app, user.user.id)).toHaveLength(1);
  });
});

describe('at most once per message', () => {
  it('works a message out once, however often its job runs', async () => {
    const { user, group } = await memberWithDevice();
    const message = await send(group, 'only once');
    await app.tma.services.notifications.onMessage(message.id);
    expect(await notificationsOf(app, user.user.id)).toHaveLength(1);
    expect(await deliveriesOf(app, user.user.id)).toHaveLength(1);
  });

  it('sends one (notification, device) push once, even when its job runs twice at the same time', async () => {
    const { user, group } = await memberWithDevice();
    await send(group, 'race');
    const [row] = await deliveriesOf(app, user.user.id);
    const job = { notification_id: row?.notification_id as string, device_id: row?.device_id as string };
    const { push } = app.tma.services.notifications.deps;
    // No FCM in this app: the one attempt that claims the row fails for good; the other finds it claimed.
    await Promise.all([push.send(job), push.send(job)]);
    await push.send(job);
    expect(await deliveriesOf(app, user.user.id)).toMatchObject([{ status: 'failed', attempts: 1 }]);
  });

  it('the sweep finds messages whose job never ran, and only those', async () => {
    const { user, group } = await memberWithDevice();
    const lost = await sendMessage(app, alice, group, 'lost job');
    const { repo } = app.tma.services.notifications.deps;
    const later = new Date(Date.now() + 60_000);
    expect(await repo.unnotifiedMessages(later)).toContain(lost.id);
    expect(await app.tma.services.notifications.sweepMissed(later)).toBeGreaterThan(0);
    await app.tma.services.notifications.onMessage(lost.id);
    expect(await repo.unnotifiedMessages(later)).not.toContain(lost.id);
    expect(await notificationsOf(app, user.user.id)).toHaveLength(1);
  });

  it('works out a batch of messages in one go: each as alone, quiet ones marked done, blocks per sender', async () => {
    const { user, group } = await memberWithDevice('batch');
    const carol = await createUser(app, { username: `carol_${Math.random().toString(36).slice(2, 8)}` });
    const quietGroup = await createGroup(app, alice, [carol]);
    const blockedGroup = await createGroup(app, carol, [user]);
    const blocked = await app.inject({
      method: 'PUT',
      url: `/api/v1/blocks/${carol.user.id}`,
      headers: user.headers,
    });
    expect(blocked.statusCode).toBe(200);
    const loud = await sendMessage(app, alice, group, 'batch one');
    const quiet = await sendMessage(app, alice, quietGroup.id, 'nobody has a device');
    const fromBlocked = await sendMessage(app, carol, blockedGroup.id, 'from someone blocked');
    const loud2 = await sendMessage(app, alice, group, 'batch two');
    const { repo } = app.tma.services.notifications.deps;
    const later = new Date(Date.now() + 60_000);
    await app.tma.services.notifications.onMessages([loud.id, quiet.id, fromBlocked.id, loud2.id]);
    const bodies = (await notificationsOf(app, user.user.id)).map(
      (n) => (n.payload as { body: string }).body,
    );
    expect(bodies.sort()).toEqual(['batch one', 'batch two']);
    expect(await notificationsOf(app, carol.user.id)).toEqual([]);
    const left = await repo.unnotifiedMessages(later);
    for (const id of [loud.id, quiet.id, fromBlocked.id, loud2.id]) expect(left).not.toContain(id);
  });
});

describe('quiet hours and coalescing', () => {
  const hhmm = (d: Date) => d.toISOString().slice(11, 16);

  it('holds pushes during quiet hours (in-app items still appear) until they end', async () => {
    const { user, group } = await memberWithDevice();
    const now = Date.now();
    const to = new Date(now + 2 * 3600_000);
    await patchSettings(app, user, {
      quiet_hours: { from: hhmm(new Date(now - 3600_000)), to: hhmm(to), tz: 'UTC' },
    });
    await send(group, `@${user.user.username} at night`);
    expect(await deliveriesOf(app, user.user.id)).toEqual([]);
    const list = await app.inject({ method: 'GET', url: '/api/v1/notifications', headers: user.headers });
    expect(list.json().data).toHaveLength(1);
    const window = await app.tma.db
      .selectFrom('push_windows')
      .selectAll()
      .where('user_id', '=', user.user.id)
      .executeTakeFirstOrThrow();
    expect(window.pending_count).toBe(1);
    expect(Math.abs(window.window_until.getTime() - to.getTime())).toBeLessThan(61_000);
    expect(await app.tma.jobs.pending(FLUSH_QUEUE)).toBeGreaterThan(0);
  });

  it('honours the time zone of quiet hours', async () => {
    const { user, group } = await memberWithDevice();
    // Quiet from now to two hours later in Tokyo time is not quiet in UTC terms unless converted right.
    const tokyo = new Date(Date.now() + 9 * 3600_000);
    await patchSettings(app, user, {
      quiet_hours: {
        from: hhmm(new Date(tokyo.getTime() - 60_000)),
        to: hhmm(new Date(tokyo.getTime() + 3600_000)),
        tz: 'Asia/Tokyo',
      },
    });
    await send(group, 'tokyo night');
    expect(await deliveriesOf(app, user.user.id)).toEqual([]);
    await patchSettings(app, user, {
      quiet_hours: {
        from: hhmm(new Date(tokyo.getTime() + 3600_000)),
        to: hhmm(new Date(tokyo.getTime() + 7200_000)),
        tz: 'Asia/Tokyo',
      },
    });
    await send(group, 'tokyo day');
    // The window of the first (held) push is still open: this one is counted into it.
    const window = await app.tma.db
      .selectFrom('push_windows')
      .selectAll()
      .where('user_id', '=', user.user.id)
      .executeTakeFirstOrThrow();
    expect(window.pending_count).toBe(2);
  });

  it('coalesces a burst into one push now and one push with the count when the window closes', async () => {
    const { user, group } = await memberWithDevice();
    await send(group, 'one');
    await send(group, 'two');
    await send(group, 'three');
    expect(await deliveriesOf(app, user.user.id)).toHaveLength(1);

    // The window closes (its flush job runs): one more push, carrying the count.
    await app.tma.db
      .updateTable('push_windows')
      .set({ window_until: new Date(Date.now() - 1000) })
      .where('user_id', '=', user.user.id)
      .execute();
    await app.tma.services.notifications.deps.push.flush({ user_id: user.user.id, conversation_id: group });
    const rows = await deliveriesOf(app, user.user.id);
    expect(rows.map((r) => r.coalesced)).toEqual([1, 2]);
    // Flushing again finds nothing pending: never a second push for the same burst.
    await app.tma.services.notifications.deps.push.flush({ user_id: user.user.id, conversation_id: group });
    expect(await deliveriesOf(app, user.user.id)).toHaveLength(2);
  });
});

describe('in-app notifications', () => {
  it('lists mentions newest first with a cursor, marks read up to an id, and emits `notification`', async () => {
    const { user, group } = await memberWithDevice();
    const socket = await connectSocket(app, user.token, '/notifications');
    const event = nextEvent<{ kind: string; body: string }>(socket, 'notification');
    await send(group, `first @${user.user.username}`);
    expect(await event).toMatchObject({ kind: 'mention', body: `first @${user.user.username}` });
    await send(group, `second @${user.user.username}`);
    await send(group, `third @${user.user.username}`);

    const page1 = await app.inject({
      method: 'GET',
      url: '/api/v1/notifications?limit=2',
      headers: user.headers,
    });
    const body1 = page1.json();
    expect(body1.data.map((n: { body: string }) => n.body.split(' ')[0])).toEqual(['third', 'second']);
    expect(body1.pagination.has_more).toBe(true);
    const page2 = await app.inject({
      method: 'GET',
      url: `/api/v1/notifications?limit=2&cursor=${body1.pagination.next_cursor}`,
      headers: user.headers,
    });
    expect(page2.json().data.map((n: { body: string }) => n.body.split(' ')[0])).toEqual(['first']);

    const read = await app.inject({
      method: 'POST',
      url: '/api/v1/notifications/read',
      headers: user.headers,
      payload: { up_to_id: body1.data[1].id },
    });
    expect(read.json().data).toEqual({ marked: 2, unread: 1 });
    const after = await app.inject({ method: 'GET', url: '/api/v1/notifications', headers: user.headers });
    expect(after.json().data.map((n: { read: boolean }) => n.read)).toEqual([false, true, true]);
  });

  it('tells members added to a group', async () => {
    const user = await createUser(app);
    const group = await createGroup(app, alice, []);
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/conversations/${group.id}/members`,
      headers: alice.headers,
      payload: { member_ids: [user.user.id] },
    });
    expect(res.statusCode, res.body).toBeLessThan(300);
    await expect
      .poll(async () => (await notificationsOf(app, user.user.id)).map((n) => n.kind))
      .toEqual(['added']);
  });

  it('tells members rung and never answered (call.missed), even in a muted conversation', async () => {
    const { user, group } = await memberWithDevice();
    await app.inject({
      method: 'PUT',
      url: `/api/v1/conversations/${group}/mute`,
      headers: user.headers,
      payload: { forever: true },
    });
    app.tma.bus.publish('call.missed', {
      call_id: '0190a0a0-0000-7000-8000-000000000001',
      conversation_id: group,
      caller_id: alice.user.id,
      media: 'audio',
      user_ids: [user.user.id],
      started_at: new Date().toISOString(),
      message_id: null,
      seq: null,
    });
    await expect
      .poll(async () => (await notificationsOf(app, user.user.id)).map((n) => [n.kind, n.in_app]))
      .toEqual([['missed_call', true]]);
    expect(await deliveriesOf(app, user.user.id)).toHaveLength(1);
  });

  it('never shows one user another user’s notifications', async () => {
    const { user, group } = await memberWithDevice();
    await send(group, `hey @${user.user.username}`);
    const stranger = await createUser(app);
    const res = await app.inject({ method: 'GET', url: '/api/v1/notifications', headers: stranger.headers });
    expect(res.json().data).toEqual([]);
  });
});

describe('notification endpoints refuse bad input', () => {
  it('401 without a token', async () => {
    for (const [method, url] of [
      ['GET', '/api/v1/notifications'],
      ['POST', '/api/v1/notifications/read'],
      ['GET', '/api/v1/devices'],
      ['POST', '/api/v1/devices'],
      ['DELETE', '/api/v1/devices/0190a0a0-0000-7000-8000-000000000000'],
      ['GET', '/api/v1/push/vapid-public-key'],
    ] as const) {
      const res = await app.inject({
        method,
        url,
        payload: method === 'GET' || method === 'DELETE' ? undefined : {},
      });
      expect(res.statusCode, `${method} ${url}`).toBe(401);
    }
  });

  it('400 for malformed cursors, read markers and ids', async () => {
    const cases = [
      { method: 'GET' as const, url: '/api/v1/notifications?cursor=nope' },
      { method: 'GET' as const, url: '/api/v1/notifications?limit=0' },
      { method: 'POST' as const, url: '/api/v1/notifications/read', payload: { up_to_id: 'x' } },
      { method: 'POST' as const, url: '/api/v1/notifications/read', payload: {} },
      {
        method: 'POST' as const,
        url: '/api/v1/notifications/read',
        payload: { up_to_id: '0190a0a0-0000-7000-8000-000000000000', extra: 1 },
      },
      { method: 'DELETE' as const, url: '/api/v1/devices/not-a-uuid' },
    ];
    for (const c of cases) {
      const res = await app.inject({ ...c, headers: alice.headers });
      expect(res.statusCode, `${c.method} ${c.url} ${res.body}`).toBe(400);
      expect(res.json().error.code).toBe('validation_error');
    }
  });

  it('400 for push endpoints that are not public https URLs, and for malformed or oversized devices', async () => {
    const keys = { p256dh: 'B'.repeat(87), auth: 'A'.repeat(22) };
    const bad = [
      { platform: 'web', push: { endpoint: 'http://push.example.com/x', keys } },
      { platform: 'web', push: { endpoint: 'https://127.0.0.1/x', keys } },
      { platform: 'web', push: { endpoint: 'https://10.1.2.3/x', keys } },
      { platform: 'web', push: { endpoint: 'https://[::1]/x', keys } },
      { platform: 'web', push: { endpoint: 'https://169.254.169.254/latest', keys } },
      { platform: 'web', push: { endpoint: 'https://localhost/x', keys } },
      { platform: 'web', push: { endpoint: 'https://user:pw@push.example.com/x', keys } },
      { platform: 'web', push: { endpoint: 'not a url', keys } },
      { platform: 'web', push: { endpoint: `https://push.example.com/${'x'.repeat(3000)}`, keys } },
      { platform: 'web', push: { endpoint: 'https://push.example.com/x' } },
      { platform: 'android', push: { token: 'x'.repeat(5000) } },
      { platform: 'android', push: { token: 'has space' } },
      { platform: 'windows', push: { token: 'abc' } },
      { platform: 'android' },
    ];
    for (const payload of bad) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/devices',
        headers: alice.headers,
        payload,
      });
      expect(res.statusCode, JSON.stringify(payload).slice(0, 120)).toBe(400);
    }
    const good = await app.inject({
      method: 'POST',
      url: '/api/v1/devices',
      headers: alice.headers,
      payload: { platform: 'web', push: { endpoint: 'https://push.example.com/sub/1', keys } },
    });
    expect(good.statusCode, good.body).toBe(201);
    expect(good.json().data).toMatchObject({ platform: 'web', transport: 'web_push', name: null });
  });

  it('lists and deletes only the caller’s devices (404 for someone else’s)', async () => {
    const { user, device } = await memberWithDevice();
    const mine = await app.inject({ method: 'GET', url: '/api/v1/devices', headers: user.headers });
    expect(mine.json().data.map((d: { id: string }) => d.id)).toEqual([device]);
    const theirs = await app.inject({
      method: 'DELETE',
      url: `/api/v1/devices/${device}`,
      headers: alice.headers,
    });
    expect(theirs.statusCode).toBe(404);
    const gone = await app.inject({
      method: 'DELETE',
      url: `/api/v1/devices/${device}`,
      headers: user.headers,
    });
    expect(gone.statusCode).toBe(200);
    const again = await app.inject({
      method: 'DELETE',
      url: `/api/v1/devices/${device}`,
      headers: user.headers,
    });
    expect(again.statusCode).toBe(404);
  });

  it('validates the notification settings of PATCH /users/me', async () => {
    for (const notifications of [
      { quiet_hours: { from: '25:00', to: '07:00', tz: 'UTC' } },
      { quiet_hours: { from: '22:00', to: '07:00', tz: 'Mars/Olympus' } },
      { quiet_hours: { from: '22:00', to: '07:00' } },
      { email_digest: 'yes' },
      { mentions_override_mute: null },
      { unknown: true },
    ]) {
      const res = await app.inject({
        method: 'PATCH',
        url: '/api/v1/users/me',
        headers: alice.headers,
        payload: { notifications },
      });
      expect(res.statusCode, JSON.stringify(notifications)).toBe(400);
    }
    const res = await app.inject({
      method: 'PATCH',
      url: '/api/v1/users/me',
      headers: alice.headers,
      payload: {
        notifications: {
          quiet_hours: { from: '22:00', to: '07:00', tz: 'Europe/Berlin' },
          email_digest: false,
        },
      },
    });
    expect(res.json().data.settings.notifications).toMatchObject({
      quiet_hours: { from: '22:00', to: '07:00', tz: 'Europe/Berlin' },
      email_digest: false,
      mentions_override_mute: true,
    });
  });
});
