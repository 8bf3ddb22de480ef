// Live delivery: REST and socket sends reach every member's sockets with their seq; membership moves; limits.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../../src/events/domain-events.js';
import { buildTestApp } from '../helpers/app.js';
import { createGroup, createUser, sendMessage, type TestUser } from '../helpers/factories.js';
import {
  barrier,
  closeAllSockets,
  collect,
  connectSocket,
  emitWithAck,
  nextEvent,
} from '../helpers/sockets.js';
import { addMembers, deleteRest, editRest, removeMember } from './fixtures.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

beforeAll(async () => {
  app = await buildTestApp();
  [alice, bob, carol] = await Promise.all([createUser(app), createUser(app), createUser(app)]);
});
afterEach(() => closeAllSockets());
afterAll(async () => {
  await app.close();
});

describe('message delivery', () => {
  it('delivers a REST message to every member device with its seq, and nothing to non-members', async () => {
    const conversationId = (await createGroup(app, alice, [bob])).id;
    const [a, b1, b2, c] = await Promise.all([
      connectSocket(app, alice.token),
      connectSocket(app, bob.token),
      connectSocket(app, bob.token),
      connectSocket(app, carol.token),
    ]);
    const arrivals = Promise.all([a, b1, b2].map((s) => nextEvent<MessageView>(s, 'new_message')));
    const leaked = collect(c, 'new_message');
    const sent = await sendMessage(app, alice, conversationId, 'hello team');
    for (const got of await arrivals) {
      expect(got).toMatchObject({
        id: sent.id,
        conversation_id: conversationId,
        seq: sent.seq,
        content: 'hello team',
      });
    }
    // The members have it, so the server has emitted it: anything for carol is in by her barrier.
    await barrier(c);
    expect(leaked).toEqual([]);
  });

  it('stores and delivers a socket send_message, idempotent by client_id', async () => {
    const conversationId = (await createGroup(app, alice, [bob])).id;
    const a = await connectSocket(app, alice.token);
    const b = await connectSocket(app, bob.token);
    const received = collect<MessageView>(b, 'new_message');
    const clientId = randomUUID();
    const first = await emitWithAck<{ message: MessageView; created: boolean }>(a, 'send_message', {
      conversation_id: conversationId,
      content: 'over the socket',
      client_id: clientId,
    });
    expect(first.ok).toBe(true);
    expect(first.data?.created).toBe(true);
    const retry = await emitWithAck<{ message: MessageView; created: boolean }>(a, 'send_message', {
      conversation_id: conversationId,
      content: 'over the socket',
      client_id: clientId,
    });
    expect(retry.data).toMatchObject({ created: false, message: { id: first.data?.message.id } });
    // Both acks are in, so the server has emitted whatever the two sends produced.
    await barrier(b);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ id: first.data?.message.id, seq: first.data?.message.seq });
  });

  it('refuses send_message to a conversation the user is not in with not_found', async () => {
    const conversationId = (await createGroup(app, alice, [bob])).id;
    const c = await connectSocket(app, carol.token);
    const ack = await emitWithAck(c, 'send_message', {
      conversation_id: conversationId,
      content: 'let me in',
    });
    expect(ack).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('answers malformed and oversized send_message payloads with their codes', async () => {
    const conversationId = (await createGroup(app, alice, [bob])).id;
    const a = await connectSocket(app, alice.token);
    const bad = await emitWithAck(a, 'send_message', { conversation_id: conversationId, content: 42 });
    expect(bad.error?.code).toBe('validation_error');
    const big = await emitWithAck(a, 'send_message', {
      conversation_id: conversationId,
      content: 'x'.repeat(20_000),
    });
    expect(big.error).toMatchObject({ code: 'validation_error', details: { field: 'content' } });
    expect(a.connected).toBe(true);
  });

  it('carries edits and deletes with their seq', async () => {
    const conversationId = (await createGroup(app, alice, [bob])).id;
    const b = await connectSocket(app, bob.token);
    const sent = await sendMessage(app, alice, conversationId, 'draft');
    const updated = nextEvent<MessageView & { event_seq: number }>(b, 'message_updated');
    await editRest(app, alice, sent.id, 'final');
    expect(await updated).toMatchObject({
      id: sent.id,
      content: 'final',
      seq: sent.seq,
      event_seq: sent.seq + 1,
    });
    const deleted = nextEvent(b, 'message_deleted');
    await deleteRest(app, alice, sent.id);
    expect(await deleted).toEqual({
      conversation_id: conversationId,
      seq: sent.seq + 2,
      message_id: sent.id,
    });
  });
});

describe('membership moves', () => {
  it('an added member gets the next message without reconnecting', async () => {
    const conversationId = (await createGroup(app, alice, [bob])).id;
    const c = await connectSocket(app, carol.token);
    const added = nextEvent(c, 'member_added');
    await addMembers(app, alice, conversationId, [carol]);
    expect(await added).toMatchObject({ conversation_id: conversationId, user_ids: [carol.user.id] });
    // The system message "alice added carol" may still be on its way: wait for the text message itself.
    const message = nextEvent<MessageView>(c, 'new_message', (m) => m.type !== 'system');
    const sent = await sendMessage(app, alice, conversationId, 'welcome carol');
    expect((await message).id).toBe(sent.id);
  });

  it('a removed member hears of it and then receives nothing', async () => {
    const conversationId = (await createGroup(app, alice, [bob, carol])).id;
    const [b, c] = await Promise.all([connectSocket(app, bob.token), connectSocket(app, carol.token)]);
    const removed = nextEvent(c, 'member_removed');
    await removeMember(app, alice, conversationId, carol);
    expect(await removed).toMatchObject({ conversation_id: conversationId, user_id: carol.user.id });
    const leaked = collect(c, 'new_message');
    const delivered = nextEvent<MessageView>(b, 'new_message', (m) => m.content === 'carol is gone');
    await sendMessage(app, alice, conversationId, 'carol is gone');
    await delivered;
    await barrier(c);
    expect(leaked).toEqual([]);
  });

  it('a new conversation reaches its members at once', async () => {
    const b = await connectSocket(app, bob.token);
    const created = nextEvent<{ conversation_id: string }>(b, 'conversation_created');
    const conversationId = (await createGroup(app, alice, [bob])).id;
    expect((await created).conversation_id).toBe(conversationId);
    const message = nextEvent<MessageView>(b, 'new_message');
    await sendMessage(app, alice, conversationId, 'first');
    expect((await message).conversation_id).toBe(conversationId);
  });
});

describe('send_message rate limit', () => {
  it('refuses the 11th message within a second with rate_limited', async () => {
    const dave = await createUser(app);
    const conversationId = (await createGroup(app, dave, [bob])).id;
    const [s1, s2] = await Promise.all([connectSocket(app, dave.token), connectSocket(app, dave.token)]);
    const acks = await Promise.all(
      Array.from({ length: 11 }, (_, i) =>
        emitWithAck(i % 2 ? s1 : s2, 'send_message', { conversation_id: conversationId, content: `m${i}` }),
      ),
    );
    const refused = acks.filter((a) => !a.ok);
    expect(acks.filter((a) => a.ok)).toHaveLength(10);
    expect(refused).toHaveLength(1);
    expect(refused[0]?.error).toMatchObject({ code: 'rate_limited', retry_after: 1 });
  });
});

describe('domain event mapping', () => {
  it('forwards reactions, pins, polls, conversation and member changes to the conversation with their seq', async () => {
    const conversationId = (await createGroup(app, alice, [bob])).id;
    const b = await connectSocket(app, bob.token);
    const c = await connectSocket(app, carol.token);
    const leaked = collect(c, 'reaction_added');
    const base = { conversation_id: conversationId, message_id: randomUUID() };
    const cases = [
      ['reaction.added', 'reaction_added', { ...base, seq: 50, user_id: alice.user.id, emoji: '👍' }],
      ['reaction.removed', 'reaction_removed', { ...base, seq: 51, user_id: alice.user.id, emoji: '👍' }],
      ['message.pinned', 'message_pinned', { ...base, seq: 52, user_id: alice.user.id, pinned: true }],
      ['poll.updated', 'poll_updated', { ...base, seq: 53, poll_id: randomUUID() }],
      [
        'conversation.updated',
        'conversation_updated',
        { conversation_id: conversationId, seq: 54, changes: { name: 'New' }, actor_id: alice.user.id },
      ],
      [
        'member.updated',
        'member_updated',
        {
          conversation_id: conversationId,
          seq: 55,
          user_id: bob.user.id,
          role: 'admin',
          actor_id: alice.user.id,
        },
      ],
    ] as const;
    for (const [domain, event, payload] of cases) {
      const got = nextEvent(b, event);
      app.tma.bus.publish(domain, payload as never);
      expect(await got).toEqual(payload);
    }
    await barrier(c);
    expect(leaked).toEqual([]);
  });

  it('sends member_muted only to the member and user_updated to the user and their contacts', async () => {
    const conversationId = (await createGroup(app, alice, [bob])).id;
    const a = await connectSocket(app, alice.token);
    const b = await connectSocket(app, bob.token);
    const stranger = await connectSocket(app, (await createUser(app)).token);
    const notForAlice = collect(a, 'member_muted');
    const muted = nextEvent(b, 'member_muted');
    const payload = { conversation_id: conversationId, user_id: bob.user.id, muted_until: null };
    app.tma.bus.publish('member.muted', payload);
    expect(await muted).toEqual(payload);
    await barrier(a);
    expect(notForAlice).toEqual([]);

    const seenByContact = nextEvent(a, 'user_updated');
    const seenBySelf = nextEvent(b, 'user_updated');
    const notForStranger = collect(stranger, 'user_updated');
    app.tma.bus.publish('user.updated', { user_id: bob.user.id });
    expect(await seenByContact).toEqual({ user_id: bob.user.id });
    expect(await seenBySelf).toEqual({ user_id: bob.user.id });
    // One emit reached both rooms (after the contact lookup): the stranger's barrier comes after it.
    await barrier(stranger);
    expect(notForStranger).toEqual([]);
  });
});
