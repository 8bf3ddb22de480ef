// Two app instances sharing PostgreSQL and Redis: every realtime path crosses from one to the other.
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MessageView } from '../../src/events/domain-events.js';
import { buildTestApp, sharedBackends } from '../helpers/app.js';
import { createGroup, createUser, sendMessage, type TestUser } from '../helpers/factories.js';
import {
  barrier,
  barrierFrom,
  closeAllSockets,
  collect,
  connectSocket,
  connectWs,
  emitWithAck,
  nextEvent,
} from '../helpers/sockets.js';
import { addMembers, removeMember, watchPresence } from './fixtures.js';

describe('two instances (needs TEST_DATABASE_URL and TEST_REDIS_URL)', () => {
  let one: FastifyInstance;
  let two: FastifyInstance;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let conversationId: string;

  beforeAll(async () => {
    const shared = await sharedBackends();
    one = await buildTestApp({ TYPING_EXPIRE_MS: '5000' }, shared);
    two = await buildTestApp({ TYPING_EXPIRE_MS: '5000' }, shared);
    [alice, bob, carol] = await Promise.all([createUser(one), createUser(one), createUser(one)]);
    conversationId = (await createGroup(one, alice, [bob])).id;
  });
  afterEach(() => {
    closeAllSockets();
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await Promise.all([one?.close(), two?.close()]);
  });

  it('delivers REST and socket sends made on one instance to every device on the other', async () => {
    const [b1, b2, a] = await Promise.all([
      connectSocket(two, bob.token),
      connectSocket(two, bob.token),
      connectSocket(one, alice.token),
    ]);
    const outsider = await connectSocket(two, carol.token);
    const leaked = collect(outsider, 'new_message');
    const rest = Promise.all([b1, b2].map((s) => nextEvent<MessageView>(s, 'new_message')));
    const sent = await sendMessage(one, alice, conversationId, 'across instances');
    for (const got of await rest) expect(got).toMatchObject({ id: sent.id, seq: sent.seq });

    const live = nextEvent<MessageView>(b1, 'new_message');
    const ack = await emitWithAck<{ message: MessageView }>(a, 'send_message', {
      conversation_id: conversationId,
      content: 'socket across instances',
    });
    expect((await live).id).toBe(ack.data?.message.id);
    // Bob's devices on the same instance have both, so that instance has emitted both.
    await barrier(outsider);
    expect(leaked).toEqual([]);
  });

  it('carries typing to viewers on the other instance', async () => {
    const a = await connectSocket(one, alice.token);
    const b = await connectSocket(two, bob.token);
    await emitWithAck(b, 'join_conversation', { conversation_id: conversationId });
    const typing = nextEvent(b, 'user_typing');
    await emitWithAck(a, 'typing_start', { conversation_id: conversationId });
    expect(await typing).toEqual({ conversation_id: conversationId, user_id: alice.user.id, typing: true });
    const stopped = nextEvent(b, 'user_typing');
    await emitWithAck(a, 'typing_stop', { conversation_id: conversationId });
    expect((await stopped).typing).toBe(false);
  });

  it('keeps a user online while any device on any instance is connected', async () => {
    const dave = await createUser(one);
    const erin = await createUser(one);
    await createGroup(one, dave, [erin]);
    const [settledOne, settledTwo] = [watchPresence(one), watchPresence(two)];
    const watcher = await connectSocket(two, erin.token);
    const online = nextEvent(watcher, 'user_online', (p) => p.user_id === dave.user.id);
    const d1 = await connectSocket(one, dave.token);
    await online;
    const repeated = collect(watcher, 'user_online');
    const d2 = await connectSocket(two, dave.token);
    await settledTwo('connected', dave.user.id);
    await barrierFrom(two, watcher, erin.user.id);
    expect(repeated).toEqual([]);
    const wentOffline = collect(watcher, 'user_offline');
    d1.close();
    await settledOne('disconnected', dave.user.id);
    await barrierFrom(one, watcher, erin.user.id);
    expect(wentOffline).toEqual([]);
    const query = await emitWithAck<Array<{ online: boolean }>>(watcher, 'presence', {
      user_ids: [dave.user.id],
    });
    expect(query.data?.[0]?.online).toBe(true);
    const offline = nextEvent(watcher, 'user_offline', (p) => p.user_id === dave.user.id);
    d2.close();
    expect((await offline).last_seen_at).toEqual(expect.any(String));
  });

  it('carries read receipts across instances', async () => {
    const sent = await sendMessage(one, alice, conversationId, 'read across');
    const a = await connectSocket(one, alice.token);
    const b = await connectSocket(two, bob.token);
    const status = nextEvent(
      a,
      'message_status',
      (p) => p.user_id === bob.user.id && p.read_seq === sent.seq,
    );
    expect(
      (await emitWithAck(b, 'message_read', { conversation_id: conversationId, seq: sent.seq })).ok,
    ).toBe(true);
    expect(await status).toMatchObject({ conversation_id: conversationId, read_seq: sent.seq });
  });

  it('moves sockets on the other instance when membership changes', async () => {
    const group = (await createGroup(one, alice, [bob])).id;
    const [b, c] = await Promise.all([connectSocket(two, bob.token), connectSocket(two, carol.token)]);
    const added = nextEvent(c, 'member_added');
    await addMembers(one, alice, group, [carol]);
    await added;
    const message = nextEvent<MessageView>(c, 'new_message', (m) => m.content === 'welcome');
    await sendMessage(one, alice, group, 'welcome');
    await message;
    const removed = nextEvent(c, 'member_removed');
    await removeMember(one, alice, group, carol);
    await removed;
    const leaked = collect(c, 'new_message');
    const delivered = nextEvent<MessageView>(b, 'new_message', (m) => m.content === 'after removal');
    await sendMessage(one, alice, group, 'after removal');
    // Bob's socket on the same instance has it, so that instance has emitted it.
    await delivered;
    await barrier(c);
    expect(leaked).toEqual([]);
  });

  it('disconnects a revoked session on every instance', async () => {
    const dave = await createUser(one);
    const d = await connectSocket(two, dave.token);
    const gone = nextEvent(d, 'disconnect');
    one.tma.bus.publish('session.revoked', { session_id: dave.sessionId, user_id: dave.user.id });
    await gone;
    expect(d.connected).toBe(false);
  });

  it('reaches /ws clients on the other instance', async () => {
    const { ws, next } = await connectWs(two, { token: bob.token });
    await next('ready');
    const sent = await sendMessage(one, alice, conversationId, 'to plain ws elsewhere');
    let frame = await next('new_message');
    while ((frame.data as { id: string }).id !== sent.id) frame = await next('new_message');
    expect(frame.data).toMatchObject({ seq: sent.seq });
    ws.close();
  });

  it('counts the send_message limit per user across instances', async () => {
    const dave = await createUser(one);
    const group = (await createGroup(one, dave, [bob])).id;
    const [s1, s2] = await Promise.all([connectSocket(one, dave.token), connectSocket(two, dave.token)]);
    const acks = await Promise.all(
      Array.from({ length: 11 }, (_, i) =>
        emitWithAck(i < 6 ? s1 : s2, 'send_message', { conversation_id: group, content: `m${i}` }),
      ),
    );
    expect(acks.filter((a) => a.ok)).toHaveLength(10);
    expect(acks.find((a) => !a.ok)?.error?.code).toBe('rate_limited');
  });
});
