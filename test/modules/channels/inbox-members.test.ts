// POST /channels/inboxes/{id}/members and DELETE /channels/inboxes/{id}/members/{user_id}: members added later join
// the inbox's existing conversations (events, system messages, realtime), removed ones leave them; every error.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createUser, sendMessage, type TestUser } from '../../helpers/factories.js';
import { closeAllSockets, connectSocket, nextEvent } from '../../helpers/sockets.js';
import {
  type ChannelRig,
  channelRig,
  createInbox,
  send,
  TEAM_EMAIL,
  TEAM_NUMBER,
  waitFor,
} from './channels-helpers.js';

let rig: ChannelRig;
beforeAll(async () => {
  rig = await channelRig();
});
afterEach(() => closeAllSockets());
afterAll(async () => {
  await rig?.close();
});

const addMembers = (user: TestUser | undefined, inboxId: string, payload: unknown) =>
  rig.app.inject({
    method: 'POST',
    url: `/api/v1/channels/inboxes/${inboxId}/members`,
    headers: user?.headers ?? {},
    payload: payload as object,
  });
const removeMember = (user: TestUser | undefined, inboxId: string, userId: string) =>
  rig.app.inject({
    method: 'DELETE',
    url: `/api/v1/channels/inboxes/${inboxId}/members/${userId}`,
    headers: user?.headers ?? {},
  });

async function thread(to: string, channel: 'sms' | 'email' = 'sms'): Promise<string> {
  const res = await send(rig.app, rig.agent, `t-${to}`, {
    channel,
    from: channel === 'sms' ? TEAM_NUMBER : TEAM_EMAIL,
    to,
    body: 'hello',
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().data.conversation_id;
}

const membership = (conversationId: string, userId: string) =>
  rig.app.tma.db
    .selectFrom('conversation_members')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .where('user_id', '=', userId)
    .executeTakeFirst();

const eventsOfType = (conversationId: string, type: string) =>
  rig.app.tma.db
    .selectFrom('conversation_events')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .where('type', '=', type)
    .orderBy('seq')
    .execute();

describe('POST /channels/inboxes/{id}/members', () => {
  it('puts a new member in every existing conversation of the inbox, with events, in real time', async () => {
    const first = await thread('+15554440001');
    const second = await thread('+15554440002');
    const mailThread = await thread('ivy@example.com', 'email');
    const newcomer = await createUser(rig.app);
    const socket = await connectSocket(rig.app, newcomer.token);
    const joined = nextEvent<{ conversation_id: string; user_ids: string[]; seq: number }>(
      socket,
      'member_added',
      (e) => e.conversation_id === first,
    );
    const res = await addMembers(rig.admin, rig.smsInboxId, { user_ids: [newcomer.user.id] });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data.member_ids).toEqual([rig.agent.user.id, newcomer.user.id]);
    const event = await joined;
    expect(event.user_ids).toEqual([newcomer.user.id]);

    for (const conversationId of [first, second]) {
      const member = await membership(conversationId, newcomer.user.id);
      expect(member?.left_at).toBeNull();
      const added = await eventsOfType(conversationId, 'member.added');
      expect(added).toHaveLength(1);
      expect(added[0]?.actor_id).toBe(rig.admin.user.id);
      expect(Number(added[0]?.seq)).toBe(Number(member?.joined_seq));
      const system = await rig.app.tma.db
        .selectFrom('messages')
        .select(['content', 'seq'])
        .where('conversation_id', '=', conversationId)
        .where('type', '=', 'system')
        .execute();
      expect(system.map((m) => m.content)).toEqual(['member_added']);
    }
    // The e-mail inbox's conversations are not touched.
    expect(await membership(mailThread, newcomer.user.id)).toBeUndefined();

    // The newcomer reads the history, hears new inbound messages and answers the customer.
    const history = await rig.app.inject({
      method: 'GET',
      url: `/api/v1/conversations/${first}/messages`,
      headers: newcomer.headers,
    });
    expect(history.statusCode).toBe(200);
    const inbound = nextEvent<{ conversation_id: string; content: string }>(
      socket,
      'new_message',
      (m) => m.conversation_id === first && m.content === 'anyone there?',
    );
    await rig.simA.sendInboundSms(`${rig.publicUrl}/api/v1/webhooks/twilio/sms`, {
      from: '+15554440001',
      to: TEAM_NUMBER,
      body: 'anyone there?',
    });
    await inbound;
    const reply = await sendMessage(rig.app, newcomer, first, 'Yes, I am');
    const out = await waitFor(
      async () =>
        rig.app.tma.db
          .selectFrom('channel_messages')
          .selectAll()
          .where('message_id', '=', reply.id)
          .executeTakeFirst(),
      'the reply as a channel message',
    );
    expect(out.to_address).toBe('+15554440001');
    const listed = await rig.app.inject({
      method: 'GET',
      url: '/api/v1/channels/conversations',
      headers: newcomer.headers,
    });
    expect(
      listed
        .json()
        .data.map((c: { conversation_id: string }) => c.conversation_id)
        .sort(),
    ).toEqual([first, second].sort());
    const audit = await rig.app.tma.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'channel_inbox.members_add')
      .where('target_id', '=', rig.smsInboxId)
      .execute();
    expect(audit[0]?.details).toMatchObject({ user_ids: [newcomer.user.id], conversations: 2 });

    // Adding someone who is already a member changes nothing.
    const before = (await eventsOfType(first, 'member.added')).length;
    const again = await addMembers(rig.admin, rig.smsInboxId, { user_ids: [newcomer.user.id] });
    expect(again.statusCode).toBe(200);
    expect((await eventsOfType(first, 'member.added')).length).toBe(before);
    await removeMember(rig.admin, rig.smsInboxId, newcomer.user.id);
  });

  it('threads created while members are added still get every member', async () => {
    const late = await createUser(rig.app);
    const smsUrl = `${rig.publicUrl}/api/v1/webhooks/twilio/sms`;
    const customers = Array.from({ length: 6 }, (_, i) => `+1555444050${i}`);
    const [added, ...inbound] = await Promise.all([
      addMembers(rig.admin, rig.smsInboxId, { user_ids: [late.user.id] }),
      ...customers.map((from) => rig.simA.sendInboundSms(smsUrl, { from, to: TEAM_NUMBER, body: 'hi' })),
    ]);
    expect(added?.statusCode, added?.body).toBe(200);
    for (const res of inbound) expect((res as { status: number }).status).toBe(200);
    const threads = await rig.app.tma.db
      .selectFrom('external_conversations')
      .select('conversation_id')
      .where('inbox_id', '=', rig.smsInboxId)
      .execute();
    for (const { conversation_id: id } of threads) {
      expect((await membership(id, late.user.id))?.left_at, id).toBeNull();
      expect((await membership(id, rig.agent.user.id))?.left_at, id).toBeNull();
    }
    expect((await removeMember(rig.admin, rig.smsInboxId, late.user.id)).statusCode).toBe(204);
    for (const { conversation_id: id } of threads) {
      expect((await membership(id, late.user.id))?.left_at, id).not.toBeNull();
    }
  });

  it('answers 403 to non-admins before validating, 401 without a token, 404 for an unknown inbox', async () => {
    const refused = await addMembers(rig.agent, rig.smsInboxId, { user_ids: [rig.outsider.user.id] });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('admin_required');
    const malformed = await addMembers(rig.agent, 'not-a-uuid', { nonsense: true });
    expect(malformed.statusCode).toBe(403);
    expect(
      (await addMembers(undefined, rig.smsInboxId, { user_ids: [rig.outsider.user.id] })).statusCode,
    ).toBe(401);
    const unknown = await addMembers(rig.admin, '01900000-0000-7000-8000-000000000000', {
      user_ids: [rig.outsider.user.id],
    });
    expect(unknown.statusCode).toBe(404);
    expect(await membership(await thread('+15554440003'), rig.outsider.user.id)).toBeUndefined();
  });

  it('refuses unknown or deactivated users (422) and malformed bodies (400)', async () => {
    const unknown = await addMembers(rig.admin, rig.smsInboxId, {
      user_ids: ['01900000-0000-7000-8000-000000000000'],
    });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().error.code).toBe('invalid_members');
    const gone = await createUser(rig.app);
    const deactivate = await rig.app.inject({
      method: 'POST',
      url: `/api/v1/admin/users/${gone.user.id}/deactivate`,
      headers: rig.admin.headers,
    });
    expect(deactivate.statusCode, deactivate.body).toBe(200);
    const deactivated = await addMembers(rig.admin, rig.smsInboxId, { user_ids: [gone.user.id] });
    expect(deactivated.statusCode).toBe(422);
    for (const payload of [
      {},
      { user_ids: [] },
      { user_ids: ['nope'] },
      { user_ids: [rig.outsider.user.id], extra: 1 },
      { user_ids: Array.from({ length: 501 }, () => rig.outsider.user.id) },
    ]) {
      const res = await addMembers(rig.admin, rig.smsInboxId, payload);
      expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
    }
    expect((await addMembers(rig.admin, 'not-a-uuid', { user_ids: [rig.outsider.user.id] })).statusCode).toBe(
      400,
    );
    const inbox = await rig.app.inject({
      method: 'GET',
      url: '/api/v1/channels/inboxes',
      headers: rig.admin.headers,
    });
    const sms = inbox.json().data.find((i: { id: string }) => i.id === rig.smsInboxId);
    expect(sms.member_ids).toEqual([rig.agent.user.id]);
  });
});

describe('DELETE /channels/inboxes/{id}/members/{user_id}', () => {
  it('takes the member out of every conversation of the inbox, with events, in real time', async () => {
    const helper = await createUser(rig.app);
    const inboxId = await createInbox(rig.app, rig.admin, {
      channel: 'sms',
      address: '+15550009999',
      name: 'Returns',
      member_ids: [rig.agent.user.id, helper.user.id],
    });
    const res = await send(rig.app, rig.agent, 'ret-1', {
      channel: 'sms',
      from: '+15550009999',
      to: '+15554440010',
      body: 'About your return',
    });
    const conversationId = res.json().data.conversation_id;
    expect((await membership(conversationId, helper.user.id))?.left_at).toBeNull();
    const socket = await connectSocket(rig.app, helper.token);
    const removed = nextEvent<{ conversation_id: string; user_id: string }>(socket, 'member_removed');
    const del = await removeMember(rig.admin, inboxId, helper.user.id);
    expect(del.statusCode, del.body).toBe(204);
    expect(await removed).toMatchObject({ conversation_id: conversationId, user_id: helper.user.id });
    expect((await membership(conversationId, helper.user.id))?.left_at).not.toBeNull();
    const events = await eventsOfType(conversationId, 'member.removed');
    expect(events[0]?.payload).toEqual({ user_id: helper.user.id, reason: 'removed' });
    const history = await rig.app.inject({
      method: 'GET',
      url: `/api/v1/conversations/${conversationId}/messages`,
      headers: helper.headers,
    });
    expect(history.statusCode).toBe(404);
    const sendAs = await send(rig.app, helper, 'ret-helper', {
      channel: 'sms',
      from: '+15550009999',
      to: '+15554440010',
      body: 'hi',
    });
    expect(sendAs.statusCode).toBe(404);
    // The agent stays; a new thread of the inbox no longer includes the removed member.
    expect((await membership(conversationId, rig.agent.user.id))?.left_at).toBeNull();
    const later = await send(rig.app, rig.agent, 'ret-2', {
      channel: 'sms',
      from: '+15550009999',
      to: '+15554440011',
      body: 'Another return',
    });
    expect(await membership(later.json().data.conversation_id, helper.user.id)).toBeUndefined();

    // Added back, the member rejoins the conversations (a new member.added).
    expect((await addMembers(rig.admin, inboxId, { user_ids: [helper.user.id] })).statusCode).toBe(200);
    expect((await membership(conversationId, helper.user.id))?.left_at).toBeNull();
    expect((await membership(later.json().data.conversation_id, helper.user.id))?.left_at).toBeNull();
  });

  it('answers every error with its code', async () => {
    const refused = await removeMember(rig.agent, rig.smsInboxId, rig.agent.user.id);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('admin_required');
    expect((await removeMember(undefined, rig.smsInboxId, rig.agent.user.id)).statusCode).toBe(401);
    const noInbox = await removeMember(rig.admin, '01900000-0000-7000-8000-000000000000', rig.agent.user.id);
    expect(noInbox.statusCode).toBe(404);
    const notMember = await removeMember(rig.admin, rig.smsInboxId, rig.outsider.user.id);
    expect(notMember.statusCode).toBe(404);
    expect((await removeMember(rig.admin, rig.smsInboxId, 'nope')).statusCode).toBe(400);
    const last = await removeMember(rig.admin, rig.emailInboxId, rig.agent.user.id);
    expect(last.statusCode).toBe(422);
    expect(last.json().error.code).toBe('last_inbox_member');
  });
});
