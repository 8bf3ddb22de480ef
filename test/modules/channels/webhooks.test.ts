// Provider webhooks: signed Twilio status callbacks and SendGrid events, inbound SMS and e-mail threading,
// members' replies going out, STOP/START, replays, and webhook_logs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendMessage } from '../../helpers/factories.js';
import {
  type ChannelRig,
  channelRig,
  eventsOf,
  INBOUND_TOKEN,
  send,
  TEAM_EMAIL,
  TEAM_NUMBER,
  waitFor,
  waitForStatus,
} from './channels-helpers.js';

let rig: ChannelRig;
let smsUrl: string;
let statusUrl: string;
let eventsUrl: string;
let inboundUrl: string;
beforeAll(async () => {
  rig = await channelRig();
  smsUrl = `${rig.publicUrl}/api/v1/webhooks/twilio/sms`;
  statusUrl = `${rig.publicUrl}/api/v1/webhooks/twilio/status`;
  eventsUrl = `${rig.publicUrl}/api/v1/webhooks/sendgrid/events`;
  inboundUrl = `${rig.publicUrl}/api/v1/webhooks/sendgrid/inbound?token=${INBOUND_TOKEN}`;
});
afterAll(async () => {
  await rig?.close();
});

async function sentSms(key: string, to = '+15551239000') {
  const res = await send(rig.app, rig.agent, key, {
    channel: 'sms',
    from: TEAM_NUMBER,
    to,
    body: `msg ${key}`,
  });
  expect(res.statusCode, res.body).toBe(202);
  return waitForStatus(rig.app, res.json().data.id, ['sent']);
}

const chatMessages = (conversationId: string) =>
  rig.app.tma.db
    .selectFrom('messages')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .orderBy('seq')
    .execute();

describe('POST /webhooks/twilio/status', () => {
  it('a signed callback moves the message to delivered, with a message update', async () => {
    const sent = await sentSms('st-1');
    const res = await rig.simA.sendStatus(sent.provider_message_id as string, 'delivered');
    expect(res.status).toBe(204);
    const row = await waitForStatus(rig.app, sent.id, ['delivered']);
    const chat = await rig.app.tma.db
      .selectFrom('messages')
      .select('metadata')
      .where('id', '=', row.message_id as string)
      .executeTakeFirstOrThrow();
    expect((chat.metadata as { channel: { status: string } }).channel.status).toBe('delivered');
    expect((await eventsOf(rig.app, sent.id)).map((e) => e.status).filter((s) => s !== 'attempt')).toEqual([
      'queued',
      'sending',
      'sent',
      'delivered',
    ]);
    // A replay is stored once.
    expect((await rig.simA.sendStatus(sent.provider_message_id as string, 'delivered')).status).toBe(204);
    expect((await eventsOf(rig.app, sent.id)).filter((e) => e.status === 'delivered')).toHaveLength(1);
  });

  it('refuses a forged signature or an unknown account with 401 and changes nothing', async () => {
    const sent = await sentSms('st-2');
    const forged = await rig.simA.sendStatus(sent.provider_message_id as string, 'delivered', {
      signature: 'AAAA',
    });
    expect(forged.status).toBe(401);
    const other = await rig.simA.postTwilio(
      statusUrl,
      {
        MessageSid: sent.provider_message_id as string,
        MessageStatus: 'delivered',
        AccountSid: rig.simA.accountSid,
      },
      { token: 'wrong-token' },
    );
    expect(other.status).toBe(401);
    const unknown = await rig.simA.postTwilio(statusUrl, {
      MessageSid: sent.provider_message_id as string,
      MessageStatus: 'delivered',
      AccountSid: 'AC-unknown',
    });
    expect(unknown.status).toBe(401);
    expect((await waitForStatus(rig.app, sent.id, ['sent'])).status).toBe('sent');
    const logs = await rig.app.tma.db
      .selectFrom('webhook_logs')
      .selectAll()
      .where('outcome', '=', 'bad_signature')
      .execute();
    expect(logs.length).toBeGreaterThanOrEqual(3);
    for (const log of logs) {
      expect(Object.keys(log.headers as object)).not.toContain('x-twilio-signature');
      expect(log.body_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(log.status_code).toBe(401);
    }
  });

  it('maps failed and undelivered with the error code, and answers 400 to a malformed callback', async () => {
    const sent = await sentSms('st-3');
    await rig.simA.sendStatus(sent.provider_message_id as string, 'undelivered', { errorCode: '30003' });
    const row = await waitForStatus(rig.app, sent.id, ['undelivered']);
    expect(row.error_code).toBe('30003');
    const malformed = await rig.simA.postTwilio(statusUrl, { AccountSid: rig.simA.accountSid });
    expect(malformed.status).toBe(400);
    const wrongType = await fetch(statusUrl, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(wrongType.status).toBe(415);
    const huge = await fetch(statusUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `Body=${'x'.repeat(300 * 1024)}`,
    });
    expect(huge.status).toBe(413);
  });
});

describe('POST /webhooks/sendgrid/events', () => {
  it('a signed delivered event moves an e-mail to delivered; forged and stale are 401 and change nothing', async () => {
    const res = await send(rig.app, rig.agent, 'ev-1', {
      channel: 'email',
      from: TEAM_EMAIL,
      to: 'ann@example.com',
      subject: 'Hi',
      body: 'Hello',
    });
    const sent = await waitForStatus(rig.app, res.json().data.id, ['sent']);
    const events = [
      {
        event: 'delivered',
        sg_event_id: 'ev-1-a',
        sg_message_id: `${sent.provider_message_id}.filter1`,
        email: 'ann@example.com',
      },
    ];
    const forged = await rig.simA.sendEvents(eventsUrl, events, {
      signature: rig.simA.signEvents('[]', Math.floor(Date.now() / 1000)),
    });
    expect(forged.status).toBe(401);
    const staleAt = Math.floor(Date.now() / 1000) - 3600;
    const stale = await rig.simA.sendEvents(eventsUrl, events, { timestamp: staleAt });
    expect(stale.status).toBe(401);
    expect(JSON.parse(stale.body).error.code).toBe('signature_expired');
    expect((await waitForStatus(rig.app, sent.id, ['sent'])).status).toBe('sent');
    const good = await rig.simA.sendEvents(eventsUrl, events);
    expect(good.status).toBe(204);
    await waitForStatus(rig.app, sent.id, ['delivered']);
    expect((await rig.simA.sendEvents(eventsUrl, events)).status).toBe(204);
    expect((await eventsOf(rig.app, sent.id)).filter((e) => e.status === 'delivered')).toHaveLength(1);
  });

  it('answers 400 to a signed body that is not an array of events', async () => {
    const raw = '{"not":"a list"}';
    const timestamp = Math.floor(Date.now() / 1000);
    const res = await fetch(eventsUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-twilio-email-event-webhook-timestamp': String(timestamp),
        'x-twilio-email-event-webhook-signature': rig.simA.signEvents(raw, timestamp),
      },
      body: raw,
    });
    expect(res.status).toBe(400);
  });
});

describe('inbound SMS and replies', () => {
  it('threads inbound SMS into the inbox conversation and sends a member reply back on SMS', async () => {
    const customer = '+15557770001';
    const first = await rig.simA.sendInboundSms(smsUrl, {
      from: customer,
      to: TEAM_NUMBER,
      body: 'Is my order late?',
    });
    expect(first.status).toBe(200);
    expect(first.body).toContain('<Response>');
    const second = await rig.simA.sendInboundSms(smsUrl, { from: customer, to: TEAM_NUMBER, body: 'Hello?' });
    expect(second.status).toBe(200);
    const threads = await rig.app.tma.db
      .selectFrom('external_conversations')
      .selectAll()
      .where('participant_address', '=', customer)
      .execute();
    expect(threads).toHaveLength(1);
    const conversationId = (threads[0] as { conversation_id: string }).conversation_id;
    const stored = await chatMessages(conversationId);
    expect(stored.map((m) => m.content)).toEqual(['Is my order late?', 'Hello?']);
    expect(stored[0]?.sender_id).toBeNull();

    // A replay of the same MessageSid is stored once.
    await rig.simA.sendInboundSms(smsUrl, {
      from: customer,
      to: TEAM_NUMBER,
      body: 'Hello?',
      sid: second.sid,
    });
    expect(await chatMessages(conversationId)).toHaveLength(2);

    // The member answers through the normal message API: it goes out as SMS to the customer.
    const reply = await sendMessage(rig.app, rig.agent, conversationId, 'It ships today');
    expect((reply.metadata as { channel?: { to: string } }).channel?.to).toBe(customer);
    const out = await waitFor(
      async () =>
        rig.app.tma.db
          .selectFrom('channel_messages')
          .selectAll()
          .where('message_id', '=', reply.id)
          .where('status', '=', 'sent')
          .executeTakeFirst(),
      'the reply to be sent',
    );
    expect(out.channel).toBe('sms');
    expect(rig.simA.messages.get(out.provider_message_id as string)?.to).toBe(customer);
    expect(rig.simA.messages.get(out.provider_message_id as string)?.from).toBe(TEAM_NUMBER);

    // Outsiders see nothing of it.
    const outsider = await rig.app.inject({
      method: 'GET',
      url: `/api/v1/conversations/${conversationId}/messages`,
      headers: rig.outsider.headers,
    });
    expect(outsider.statusCode).toBe(404);
    const outsiderList = await rig.app.inject({
      method: 'GET',
      url: `/api/v1/channels/messages?conversation_id=${conversationId}`,
      headers: rig.outsider.headers,
    });
    expect(outsiderList.statusCode).toBe(404);
    const outsiderSend = await rig.app.inject({
      method: 'POST',
      url: `/api/v1/conversations/${conversationId}/messages`,
      headers: rig.outsider.headers,
      payload: { content: 'hi' },
    });
    expect(outsiderSend.statusCode).toBe(404);
  });

  it('refuses a member reply over the SMS limit and keeps nothing', async () => {
    const customer = '+15557770002';
    await rig.simA.sendInboundSms(smsUrl, { from: customer, to: TEAM_NUMBER, body: 'hi' });
    const thread = await rig.app.tma.db
      .selectFrom('external_conversations')
      .selectAll()
      .where('participant_address', '=', customer)
      .executeTakeFirstOrThrow();
    const res = await rig.app.inject({
      method: 'POST',
      url: `/api/v1/conversations/${thread.conversation_id}/messages`,
      headers: rig.agent.headers,
      payload: { content: 'x'.repeat(1601) },
    });
    expect(res.statusCode).toBe(400);
    expect(await chatMessages(thread.conversation_id)).toHaveLength(1);
  });

  it('honours STOP and START per inbox', async () => {
    const customer = '+15557770003';
    await rig.simA.sendInboundSms(smsUrl, { from: customer, to: TEAM_NUMBER, body: ' stop ' });
    const refused = await send(rig.app, rig.agent, 'stop-1', {
      channel: 'sms',
      from: TEAM_NUMBER,
      to: customer,
      body: 'hi',
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error.code).toBe('recipient_opted_out');
    const thread = await rig.app.tma.db
      .selectFrom('external_conversations')
      .selectAll()
      .where('participant_address', '=', customer)
      .executeTakeFirstOrThrow();
    const reply = await rig.app.inject({
      method: 'POST',
      url: `/api/v1/conversations/${thread.conversation_id}/messages`,
      headers: rig.agent.headers,
      payload: { content: 'still there?' },
    });
    expect(reply.statusCode).toBe(422);
    await rig.simA.sendInboundSms(smsUrl, { from: customer, to: TEAM_NUMBER, body: 'START' });
    const allowed = await send(rig.app, rig.agent, 'stop-2', {
      channel: 'sms',
      from: TEAM_NUMBER,
      to: customer,
      body: 'welcome back',
    });
    expect(allowed.statusCode).toBe(202);
  });

  it('answers 401 to a forged inbound SMS and stores nothing', async () => {
    const res = await rig.simA.sendInboundSms(
      smsUrl,
      { from: '+15557770009', to: TEAM_NUMBER, body: 'forged' },
      { signature: 'bm9wZQ==' },
    );
    expect(res.status).toBe(401);
    const thread = await rig.app.tma.db
      .selectFrom('external_conversations')
      .selectAll()
      .where('participant_address', '=', '+15557770009')
      .executeTakeFirst();
    expect(thread).toBeUndefined();
  });
});

describe('POST /webhooks/sendgrid/inbound', () => {
  it('threads inbound e-mail and sends a member reply by e-mail with Re: subject', async () => {
    const res = await rig.simA.sendInboundEmail(inboundUrl, {
      from: 'Bea <Bea@Example.com>',
      to: `Support <${TEAM_EMAIL}>`,
      subject: 'Invoice',
      text: 'Where is my invoice?',
    });
    expect(res.status, res.body).toBe(200);
    const thread = await rig.app.tma.db
      .selectFrom('external_conversations')
      .selectAll()
      .where('participant_address', '=', 'bea@example.com')
      .executeTakeFirstOrThrow();
    expect(thread.channel).toBe('email');
    const reply = await sendMessage(rig.app, rig.agent, thread.conversation_id, 'Attached again.');
    const out = await waitFor(
      async () =>
        rig.app.tma.db
          .selectFrom('channel_messages')
          .selectAll()
          .where('message_id', '=', reply.id)
          .where('status', '=', 'sent')
          .executeTakeFirst(),
      'the e-mail reply to be sent',
    );
    const mail = rig.simA.messages.get(out.provider_message_id as string);
    expect(mail?.to).toBe('bea@example.com');
    expect(mail?.subject).toBe('Re: Invoice');
  });

  it('answers 401 to a wrong token and 400 to a malformed body', async () => {
    const bad = await rig.simA.sendInboundEmail(
      `${rig.publicUrl}/api/v1/webhooks/sendgrid/inbound?token=nope`,
      { from: 'x@example.com', to: TEAM_EMAIL, text: 'x' },
    );
    expect(bad.status).toBe(401);
    const malformed = await fetch(inboundUrl, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=zzz' },
      body: 'garbage',
    });
    expect(malformed.status).toBe(400);
  });
});
