// POST /channels/messages and the inboxes: idempotency, validation, access, the send job and failover.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../helpers/factories.js';
import {
  type ChannelRig,
  channelRig,
  eventsOf,
  send,
  TEAM_EMAIL,
  TEAM_NUMBER,
  waitForStatus,
} from './channels-helpers.js';

let rig: ChannelRig;
beforeAll(async () => {
  rig = await channelRig();
});
afterAll(async () => {
  await rig?.close();
});

describe('POST /channels/inboxes', () => {
  it('lets only admins create inboxes', async () => {
    const res = await rig.app.inject({
      method: 'POST',
      url: '/api/v1/channels/inboxes',
      headers: rig.agent.headers,
      payload: { channel: 'sms', address: '+15550002222', name: 'x', member_ids: [rig.agent.user.id] },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('admin_required');
  });

  it('refuses a taken address, a bad number, unknown members and malformed bodies', async () => {
    const post = (payload: object) =>
      rig.app.inject({
        method: 'POST',
        url: '/api/v1/channels/inboxes',
        headers: rig.admin.headers,
        payload,
      });
    const taken = await post({
      channel: 'mms',
      address: TEAM_NUMBER,
      name: 'dup',
      member_ids: [rig.agent.user.id],
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.code).toBe('inbox_exists');
    const bad = await post({
      channel: 'sms',
      address: '555-1234',
      name: 'x',
      member_ids: [rig.agent.user.id],
    });
    expect(bad.statusCode).toBe(400);
    const unknown = await post({
      channel: 'email',
      address: 'other@team.example',
      name: 'x',
      member_ids: ['01900000-0000-7000-8000-000000000000'],
    });
    expect(unknown.statusCode).toBe(422);
    expect((await post({ channel: 'fax', address: 'x', name: 'x', member_ids: [] })).statusCode).toBe(400);
    expect(
      (
        await post({
          channel: 'sms',
          address: '+15550003333',
          name: 'x'.repeat(101),
          member_ids: [rig.agent.user.id],
        })
      ).statusCode,
    ).toBe(400);
  });

  it('lists every inbox to admins and only their own to members', async () => {
    const mine = await rig.app.inject({
      method: 'GET',
      url: '/api/v1/channels/inboxes',
      headers: rig.agent.headers,
    });
    expect(
      mine
        .json()
        .data.map((i: { address: string }) => i.address)
        .sort(),
    ).toEqual([TEAM_NUMBER, TEAM_EMAIL].sort());
    const none = await rig.app.inject({
      method: 'GET',
      url: '/api/v1/channels/inboxes',
      headers: rig.outsider.headers,
    });
    expect(none.json().data).toEqual([]);
    expect((await rig.app.inject({ method: 'GET', url: '/api/v1/channels/inboxes' })).statusCode).toBe(401);
  });
});

describe('POST /channels/messages', () => {
  it('20 parallel requests with one key make one message and one provider request', async () => {
    const before = rig.simA.requests.twilio + rig.simB.requests.twilio;
    const payload = { channel: 'sms', from: TEAM_NUMBER, to: '+15551230001', body: 'Your order shipped' };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => send(rig.app, rig.agent, 'order-42-shipped', payload)),
    );
    for (const res of answers) expect(res.statusCode, res.body).toBe(202);
    const ids = new Set(answers.map((r) => r.json().data.id));
    expect(ids.size).toBe(1);
    expect(answers.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(19);
    const id = [...ids][0] as string;
    const rows = await rig.app.tma.db
      .selectFrom('channel_messages')
      .select('id')
      .where('idempotency_key', '=', 'order-42-shipped')
      .execute();
    expect(rows).toHaveLength(1);
    const sent = await waitForStatus(rig.app, id, ['sent']);
    expect(sent.provider).toBe('tw-a');
    expect(rig.simA.requests.twilio + rig.simB.requests.twilio - before).toBe(1);
    const chat = await rig.app.tma.db
      .selectFrom('messages')
      .selectAll()
      .where('conversation_id', '=', sent.conversation_id)
      .execute();
    expect(chat).toHaveLength(1);
    // A later retry still answers the first message without a second send.
    const again = await send(rig.app, rig.agent, 'order-42-shipped', payload);
    expect(again.json().data.id).toBe(id);
    expect(rig.simA.requests.twilio + rig.simB.requests.twilio - before).toBe(1);
  });

  it('answers 409 when a key is reused for another message', async () => {
    const payload = { channel: 'sms', from: TEAM_NUMBER, to: '+15551230002', body: 'one' };
    expect((await send(rig.app, rig.agent, 'reuse-1', payload)).statusCode).toBe(202);
    const res = await send(rig.app, rig.agent, 'reuse-1', { ...payload, body: 'two' });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('idempotency_key_reused');
  });

  it('requires Idempotency-Key and validates addresses, body size and fields', async () => {
    const ok = { channel: 'sms', from: TEAM_NUMBER, to: '+15551230003', body: 'hi' };
    expect((await send(rig.app, rig.agent, undefined, ok)).statusCode).toBe(400);
    expect((await send(rig.app, rig.agent, 'has space', ok)).statusCode).toBe(400);
    const cases: Array<[object, number]> = [
      [{ ...ok, to: '5551230003' }, 400],
      [{ ...ok, to: '+0123' }, 400],
      [{ ...ok, body: 'x'.repeat(1601) }, 400],
      [{ ...ok, body: '   ' }, 400],
      [{ ...ok, subject: 'no subjects in SMS' }, 400],
      [{ ...ok, extra: true }, 400],
      [{ channel: 'email', from: TEAM_EMAIL, to: 'not an address', body: 'hi' }, 400],
      [{ channel: 'email', from: TEAM_EMAIL, to: 'a@b', body: 'hi' }, 400],
      [{ ...ok, channel: 'pigeon' }, 400],
    ];
    for (const [payload, status] of cases) {
      const res = await send(rig.app, rig.agent, `v-${Math.random()}`, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
    }
    const huge = await rig.app.inject({
      method: 'POST',
      url: '/api/v1/channels/messages',
      headers: { ...rig.agent.headers, 'idempotency-key': 'huge' },
      payload: { ...ok, body: 'x'.repeat(20_000) },
    });
    expect(huge.statusCode).toBe(400);
  });

  it('counts SMS segments (GSM-7 153 per part, UCS-2 67)', async () => {
    const long = await send(rig.app, rig.agent, 'seg-1', {
      channel: 'sms',
      from: TEAM_NUMBER,
      to: '+15551230004',
      body: 'a'.repeat(161),
    });
    expect(long.json().data.segments).toBe(2);
    const emoji = await send(rig.app, rig.agent, 'seg-2', {
      channel: 'sms',
      from: TEAM_NUMBER,
      to: '+15551230004',
      body: '😀'.repeat(40),
    });
    expect(emoji.json().data.segments).toBe(2);
  });

  it('answers 404 for an inbox the caller does not handle, and 401 without a token', async () => {
    const payload = { channel: 'sms', from: TEAM_NUMBER, to: '+15551230005', body: 'hi' };
    const res = await send(rig.app, rig.outsider, 'outsider-1', payload);
    expect(res.statusCode).toBe(404);
    const unknown = await send(rig.app, rig.agent, 'unknown-inbox', { ...payload, from: '+15559999999' });
    expect(unknown.statusCode).toBe(404);
    const anonymous = await rig.app.inject({
      method: 'POST',
      url: '/api/v1/channels/messages',
      headers: { 'idempotency-key': 'x' },
      payload,
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it('sends e-mail through SendGrid and keeps X-Message-Id', async () => {
    const res = await send(rig.app, rig.agent, 'mail-1', {
      channel: 'email',
      from: TEAM_EMAIL,
      to: 'Customer@Example.com',
      subject: 'Your ticket',
      body: 'We are on it.',
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().data.to).toBe('customer@example.com');
    const sent = await waitForStatus(rig.app, res.json().data.id, ['sent']);
    expect(sent.provider).toBe('sg-a');
    expect(rig.simA.messages.get(sent.provider_message_id as string)?.subject).toBe('Your ticket');
  });

  it('records queued -> sending -> sent as events and message updates', async () => {
    const res = await send(rig.app, rig.agent, 'events-1', {
      channel: 'sms',
      from: TEAM_NUMBER,
      to: '+15551230006',
      body: 'hello',
    });
    const id = res.json().data.id;
    expect(res.json().data.status).toBe('queued');
    await waitForStatus(rig.app, id, ['sent']);
    const statuses = (await eventsOf(rig.app, id)).map((e) => e.status).filter((s) => s !== 'attempt');
    expect(statuses).toEqual(['queued', 'sending', 'sent']);
    const row = await rig.app.tma.db
      .selectFrom('channel_messages')
      .select(['message_id', 'conversation_id'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    const chat = await rig.app.tma.db
      .selectFrom('messages')
      .select('metadata')
      .where('id', '=', row.message_id as string)
      .executeTakeFirstOrThrow();
    expect((chat.metadata as { channel: { status: string } }).channel.status).toBe('sent');
    const updates = await rig.app.tma.db
      .selectFrom('conversation_events')
      .select('type')
      .where('conversation_id', '=', row.conversation_id)
      .where('type', '=', 'message.updated')
      .execute();
    expect(updates).toHaveLength(2);
  });

  it('rate-limits sends per user', async () => {
    const limited = await channelRig({ env: { CHANNEL_SENDS_PER_MINUTE: '2' } });
    try {
      const payload = { channel: 'sms', from: TEAM_NUMBER, to: '+15551230007', body: 'hi' };
      expect((await send(limited.app, limited.agent, 'r1', payload)).statusCode).toBe(202);
      expect((await send(limited.app, limited.agent, 'r2', payload)).statusCode).toBe(202);
      const third = await send(limited.app, limited.agent, 'r3', payload);
      expect(third.statusCode).toBe(429);
      expect(third.headers['retry-after']).toBeDefined();
      // A replay of an accepted key is not a new send.
      expect((await send(limited.app, limited.agent, 'r1', payload)).statusCode).toBe(202);
    } finally {
      await limited.close();
    }
  });
});

describe('failover and the circuit breaker', () => {
  it('sends through B while A answers 503, then stops calling A until its half-open probe', async () => {
    rig.simA.setFaults({ down: true });
    try {
      const aBefore = rig.simA.requests.twilio;
      const first = await send(rig.app, rig.agent, 'fo-1', {
        channel: 'sms',
        from: TEAM_NUMBER,
        to: '+15551230010',
        body: 'one',
      });
      const sent = await waitForStatus(rig.app, first.json().data.id, ['sent']);
      expect(sent.provider).toBe('tw-b');
      // threshold 2 with 1 retry: A was tried twice and its circuit is open now.
      expect(rig.simA.requests.twilio - aBefore).toBe(2);
      const attempts = (await eventsOf(rig.app, sent.id)).filter((e) => e.status === 'attempt');
      expect(attempts.map((e) => e.provider)).toEqual(['tw-a', 'tw-a', 'tw-b']);

      const second = await send(rig.app, rig.agent, 'fo-2', {
        channel: 'sms',
        from: TEAM_NUMBER,
        to: '+15551230010',
        body: 'two',
      });
      expect((await waitForStatus(rig.app, second.json().data.id, ['sent'])).provider).toBe('tw-b');
      expect(rig.simA.requests.twilio - aBefore).toBe(2);

      // After half_open_after_ms one probe reaches A; A is back, so it takes the message and closes.
      rig.simA.resetFaults();
      await new Promise((r) => setTimeout(r, 3100));
      const third = await send(rig.app, rig.agent, 'fo-3', {
        channel: 'sms',
        from: TEAM_NUMBER,
        to: '+15551230010',
        body: 'three',
      });
      expect((await waitForStatus(rig.app, third.json().data.id, ['sent'])).provider).toBe('tw-a');
      expect(rig.simA.requests.twilio - aBefore).toBe(3);
      const metrics = await rig.app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toContain('tma_channel_provider_circuit_state{provider="tw-a"} 0');
      expect(metrics.body).toMatch(
        /tma_channel_provider_requests_total\{provider="tw-a",outcome="transient"\} 2/,
      );
    } finally {
      rig.simA.resetFaults();
    }
  });

  it('honours 429 Retry-After and retries the same provider', async () => {
    rig.simA.setFaults({ rateLimit: { retryAfterSeconds: 0, count: 1 } });
    const res = await send(rig.app, rig.agent, 'rl-1', {
      channel: 'sms',
      from: TEAM_NUMBER,
      to: '+15551230011',
      body: 'hi',
    });
    const sent = await waitForStatus(rig.app, res.json().data.id, ['sent']);
    expect(sent.provider).toBe('tw-a');
  });

  it('fails a message the provider refuses, without failover', async () => {
    const res = await send(rig.app, rig.agent, 'refused-1', {
      channel: 'sms',
      from: TEAM_NUMBER,
      to: '+15005550001',
      body: 'hi',
    });
    expect(res.statusCode).toBe(202);
    const failed = await waitForStatus(rig.app, res.json().data.id, ['failed']);
    expect(failed.error_code).toBe('rejected');
    const attempts = (await eventsOf(rig.app, failed.id)).filter((e) => e.status === 'attempt');
    expect(attempts.map((e) => e.provider)).toEqual(['tw-a']);
  });
});

describe('GET /channels/messages and /channels/conversations', () => {
  it('lists a conversation to its members with status filter, and 404 to others', async () => {
    const res = await send(rig.app, rig.agent, 'list-1', {
      channel: 'sms',
      from: TEAM_NUMBER,
      to: '+15551230020',
      body: 'hi',
    });
    const { conversation_id: conversationId, id } = res.json().data;
    await waitForStatus(rig.app, id, ['sent']);
    const list = await rig.app.inject({
      method: 'GET',
      url: `/api/v1/channels/messages?conversation_id=${conversationId}`,
      headers: rig.agent.headers,
    });
    expect(list.statusCode).toBe(200);
    expect(list.json().data[0].id).toBe(id);
    expect(list.json().data[0].events.length).toBeGreaterThanOrEqual(3);
    const sent = await rig.app.inject({
      method: 'GET',
      url: `/api/v1/channels/messages?conversation_id=${conversationId}&status=delivered`,
      headers: rig.agent.headers,
    });
    expect(sent.json().data).toEqual([]);
    const outsider = await rig.app.inject({
      method: 'GET',
      url: `/api/v1/channels/messages?conversation_id=${conversationId}`,
      headers: rig.outsider.headers,
    });
    expect(outsider.statusCode).toBe(404);
    const bad = await rig.app.inject({
      method: 'GET',
      url: '/api/v1/channels/messages?conversation_id=nope',
      headers: rig.agent.headers,
    });
    expect(bad.statusCode).toBe(400);
    const badStatus = await rig.app.inject({
      method: 'GET',
      url: `/api/v1/channels/messages?conversation_id=${conversationId}&status=lost`,
      headers: rig.agent.headers,
    });
    expect(badStatus.statusCode).toBe(400);
  });

  it('threads by participant and lists conversations by participant', async () => {
    const a = await send(rig.app, rig.agent, 'thr-1', {
      channel: 'sms',
      from: TEAM_NUMBER,
      to: '+15551230030',
      body: 'one',
    });
    const b = await send(rig.app, rig.agent, 'thr-2', {
      channel: 'mms',
      from: TEAM_NUMBER,
      to: '+15551230030',
      body: 'two',
    });
    expect(a.json().data.conversation_id).toBe(b.json().data.conversation_id);
    const list = await rig.app.inject({
      method: 'GET',
      url: '/api/v1/channels/conversations?participant=%2B15551230030',
      headers: rig.agent.headers,
    });
    expect(list.statusCode).toBe(200);
    expect(list.json().data).toHaveLength(1);
    expect(list.json().data[0].external_participants).toEqual([{ address: '+15551230030', channel: 'sms' }]);
    const none = await rig.app.inject({
      method: 'GET',
      url: '/api/v1/channels/conversations?participant=%2B15551230030',
      headers: rig.outsider.headers,
    });
    expect(none.json().data).toEqual([]);
    // The conversation shows in the member's normal list as type external.
    const convs = await rig.app.inject({
      method: 'GET',
      url: '/api/v1/conversations',
      headers: rig.agent.headers,
    });
    expect(convs.statusCode, convs.body).toBe(200);
    expect(
      convs
        .json()
        .data.some(
          (c: { id: string; type: string }) =>
            c.id === a.json().data.conversation_id && c.type === 'external',
        ),
    ).toBe(true);
    const newcomer = await createUser(rig.app);
    const empty = await rig.app.inject({
      method: 'GET',
      url: '/api/v1/channels/conversations',
      headers: newcomer.headers,
    });
    expect(empty.json().data).toEqual([]);
  });
});
