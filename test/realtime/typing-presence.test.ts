// Typing (viewers only, throttled, expiring), presence (devices, privacy, query) and read receipts over sockets.
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
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
import { serverSockets, watchPresence } from './fixtures.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let conversationId: string;

beforeAll(async () => {
  // Neither the expiry nor the throttle window can run out during a test here: both are tested on their own
  // (typing-tracker.test.ts with fake timers, 'typing expiry' below end to end).
  app = await buildTestApp({ TYPING_EXPIRE_MS: '60000', TYPING_THROTTLE_MS: '60000' });
  [alice, bob, carol] = await Promise.all([createUser(app), createUser(app), createUser(app)]);
  conversationId = (await createGroup(app, alice, [bob, carol])).id;
});
afterEach(() => {
  closeAllSockets();
  vi.restoreAllMocks();
});
afterAll(async () => {
  await app.close();
});

type Typing = { conversation_id: string; user_id: string; typing: boolean };

describe('typing', () => {
  it('reaches viewers only and is throttled', async () => {
    const a = await connectSocket(app, alice.token);
    const viewer = await connectSocket(app, bob.token);
    const notViewing = await connectSocket(app, carol.token);
    expect((await emitWithAck(viewer, 'join_conversation', { conversation_id: conversationId })).ok).toBe(
      true,
    );

    const started = nextEvent<Typing>(viewer, 'user_typing');
    const leaked = collect(notViewing, 'user_typing');
    expect(await emitWithAck(a, 'typing_start', { conversation_id: conversationId })).toMatchObject({
      ok: true,
      data: { throttled: false },
    });
    expect(await started).toEqual({ conversation_id: conversationId, user_id: alice.user.id, typing: true });

    const seen = collect<Typing>(viewer, 'user_typing');
    const again = await emitWithAck(a, 'typing_start', { conversation_id: conversationId });
    expect(again).toMatchObject({ ok: true, data: { throttled: true } });
    await Promise.all([barrier(notViewing), barrier(viewer)]);
    expect(leaked).toEqual([]);
    expect(seen).toEqual([]);

    const stopped = nextEvent<Typing>(viewer, 'user_typing');
    await emitWithAck(a, 'typing_stop', { conversation_id: conversationId });
    expect(await stopped).toEqual({ conversation_id: conversationId, user_id: alice.user.id, typing: false });
  });

  it('typing_stop ends it at once; leave_conversation stops delivery', async () => {
    const a = await connectSocket(app, alice.token);
    const viewer = await connectSocket(app, bob.token);
    await emitWithAck(viewer, 'join_conversation', { conversation_id: conversationId });
    const started = nextEvent<Typing>(viewer, 'user_typing');
    await emitWithAck(a, 'typing_start', { conversation_id: conversationId });
    await started;
    const stopped = nextEvent<Typing>(viewer, 'user_typing');
    await emitWithAck(a, 'typing_stop', { conversation_id: conversationId });
    expect((await stopped).typing).toBe(false);

    await emitWithAck(viewer, 'leave_conversation', { conversation_id: conversationId });
    const leaked = collect(viewer, 'user_typing');
    await emitWithAck(a, 'typing_start', { conversation_id: conversationId });
    await emitWithAck(a, 'typing_stop', { conversation_id: conversationId });
    await barrier(viewer);
    expect(leaked).toEqual([]);
  });

  it("stops when the typist's last socket goes away, not before", async () => {
    const a1 = await connectSocket(app, alice.token);
    const a2 = await connectSocket(app, alice.token);
    const viewer = await connectSocket(app, bob.token);
    await emitWithAck(viewer, 'join_conversation', { conversation_id: conversationId });
    const started = nextEvent<Typing>(viewer, 'user_typing');
    await emitWithAck(a1, 'typing_start', { conversation_id: conversationId });
    await started;
    const notYet = collect(viewer, 'user_typing');
    a2.close();
    // The server runs its disconnect handling as it drops the socket from alice's room.
    await vi.waitFor(() => expect(serverSockets(app, alice)).toBe(1), { timeout: 5000, interval: 10 });
    await barrier(viewer);
    expect(notYet).toEqual([]);
    const stopped = nextEvent<Typing>(viewer, 'user_typing');
    a1.close();
    expect(await stopped).toMatchObject({ user_id: alice.user.id, typing: false });
  });

  it('refuses typing in a conversation the user is not in with not_found', async () => {
    const dave = await createUser(app);
    const d = await connectSocket(app, dave.token);
    const ack = await emitWithAck(d, 'typing_start', { conversation_id: conversationId });
    expect(ack.error?.code).toBe('not_found');
  });
});

describe('typing expiry', () => {
  let quick: FastifyInstance;
  beforeAll(async () => {
    quick = await buildTestApp({ TYPING_EXPIRE_MS: '500' });
  });
  afterAll(async () => {
    await quick.close();
  });

  it('sends typing: false by itself once TYPING_EXPIRE_MS passes without a new typing_start', async () => {
    const [typist, viewer] = await Promise.all([createUser(quick), createUser(quick)]);
    const { id } = await createGroup(quick, typist, [viewer]);
    const [t, v] = await Promise.all([
      connectSocket(quick, typist.token),
      connectSocket(quick, viewer.token),
    ]);
    await emitWithAck(v, 'join_conversation', { conversation_id: id });
    const started = nextEvent<Typing>(v, 'user_typing');
    await emitWithAck(t, 'typing_start', { conversation_id: id });
    expect((await started).typing).toBe(true);
    const stopped = await nextEvent<Typing>(v, 'user_typing', () => true, 10_000);
    expect(stopped).toEqual({ conversation_id: id, user_id: typist.user.id, typing: false });
  });
});

describe('presence', () => {
  it('goes online with the first device and offline with the last, with last_seen_at', async () => {
    const dave = await createUser(app);
    const erin = await createUser(app);
    await createGroup(app, dave, [erin]);
    const settled = watchPresence(app);
    const watcher = await connectSocket(app, erin.token);
    const online = nextEvent(watcher, 'user_online', (p) => p.user_id === dave.user.id);
    const d1 = await connectSocket(app, dave.token);
    expect(await online).toEqual({ user_id: dave.user.id, last_seen_at: null });

    const repeated = collect(watcher, 'user_online');
    const d2 = await connectSocket(app, dave.token);
    await settled('connected', dave.user.id, 2);
    await barrier(watcher);
    expect(repeated).toEqual([]);

    const wentOffline = collect(watcher, 'user_offline');
    d1.close();
    await settled('disconnected', dave.user.id);
    await barrier(watcher);
    expect(wentOffline).toEqual([]);

    const offline = nextEvent<{ user_id: string; last_seen_at: string }>(watcher, 'user_offline');
    d2.close();
    const went = await offline;
    expect(went.user_id).toBe(dave.user.id);
    expect(Date.parse(went.last_seen_at)).toBeGreaterThan(Date.now() - 60_000);
    const stored = await app.tma.services.usersRepository.findById(dave.user.id);
    expect(stored?.last_seen_at?.toISOString()).toBe(went.last_seen_at);
  });

  it('never announces a user whose privacy hides online status', async () => {
    const hidden = await createUser(app, { settings: { privacy: { online: false } } });
    const erin = await createUser(app);
    await createGroup(app, hidden, [erin]);
    const settled = watchPresence(app);
    const watcher = await connectSocket(app, erin.token);
    const announced = collect(watcher, 'user_online');
    const h = await connectSocket(app, hidden.token);
    await settled('connected', hidden.user.id);
    await barrier(watcher);
    expect(announced).toEqual([]);
    const ack = await emitWithAck<Array<{ online: boolean }>>(watcher, 'presence', {
      user_ids: [hidden.user.id],
    });
    expect(ack.data).toEqual([{ user_id: hidden.user.id, online: false, last_seen_at: null }]);
    h.close();
  });

  it('does not announce presence to strangers', async () => {
    const dave = await createUser(app);
    const stranger = await createUser(app);
    const settled = watchPresence(app);
    const s = await connectSocket(app, stranger.token);
    const announced = collect(s, 'user_online');
    await connectSocket(app, dave.token);
    await settled('connected', dave.user.id);
    await barrier(s);
    expect(announced).toEqual([]);
  });

  it('answers the presence query for contacts only', async () => {
    const dave = await createUser(app);
    const erin = await createUser(app);
    const stranger = await createUser(app);
    await createGroup(app, dave, [erin]);
    await connectSocket(app, dave.token);
    await connectSocket(app, stranger.token);
    const e = await connectSocket(app, erin.token);
    const ack = await emitWithAck<Array<{ user_id: string; online: boolean }>>(e, 'presence', {
      user_ids: [dave.user.id, stranger.user.id],
    });
    expect(ack.data).toEqual([
      { user_id: dave.user.id, online: true, last_seen_at: null },
      { user_id: stranger.user.id, online: false, last_seen_at: null },
    ]);
    const bad = await emitWithAck(e, 'presence', { user_ids: [] });
    expect(bad.error?.code).toBe('validation_error');
    const big = await emitWithAck(e, 'presence', { user_ids: Array(201).fill(dave.user.id) });
    expect(big.error).toMatchObject({ code: 'validation_error', details: { field: 'user_ids' } });
  });
});

describe('receipts', () => {
  it('message_read moves the watermark for everyone in the conversation', async () => {
    const sent = await sendMessage(app, alice, conversationId, 'read me');
    const a = await connectSocket(app, alice.token);
    const b = await connectSocket(app, bob.token);
    const status = nextEvent(a, 'message_status', (p) => p.user_id === bob.user.id);
    const ack = await emitWithAck(b, 'message_read', { conversation_id: conversationId, seq: sent.seq });
    expect(ack).toMatchObject({ ok: true, data: { conversation_id: conversationId, read_seq: sent.seq } });
    expect(await status).toEqual({
      conversation_id: conversationId,
      user_id: bob.user.id,
      delivered_seq: sent.seq,
      read_seq: sent.seq,
    });
  });

  it('message_delivered moves only the delivered watermark', async () => {
    const sent = await sendMessage(app, alice, conversationId, 'deliver me');
    const a = await connectSocket(app, alice.token);
    const c = await connectSocket(app, carol.token);
    const status = nextEvent(a, 'message_status', (p) => p.user_id === carol.user.id);
    const ack = await emitWithAck(c, 'message_delivered', { conversation_id: conversationId, seq: sent.seq });
    expect(ack.ok).toBe(true);
    expect(await status).toMatchObject({ delivered_seq: sent.seq });
  });

  it('hides read_seq from others when the reader hides read receipts', async () => {
    const shy = await createUser(app, { settings: { privacy: { read_receipts: false } } });
    const group = (await createGroup(app, alice, [shy])).id;
    const sent = await sendMessage(app, alice, group, 'did you read it?');
    const a = await connectSocket(app, alice.token);
    const own = await connectSocket(app, shy.token);
    const s = await connectSocket(app, shy.token);
    const seenByOthers = nextEvent(a, 'message_status', (p) => p.user_id === shy.user.id);
    const seenByOwn = nextEvent(own, 'message_status', (p) => p.user_id === shy.user.id);
    await emitWithAck(s, 'message_read', { conversation_id: group, seq: sent.seq });
    expect(await seenByOthers).toMatchObject({ delivered_seq: sent.seq, read_seq: null });
    expect(await seenByOwn).toMatchObject({ read_seq: sent.seq });
  });

  it('refuses receipts for a conversation the user is not in, and malformed seqs', async () => {
    const dave = await createUser(app);
    const d = await connectSocket(app, dave.token);
    const denied = await emitWithAck(d, 'message_read', { conversation_id: conversationId, seq: 1 });
    expect(denied.error?.code).toBe('not_found');
    const negative = await emitWithAck(d, 'message_read', { conversation_id: conversationId, seq: -1 });
    expect(negative.error?.code).toBe('validation_error');
  });
});

describe('GET /api/v1/presence', () => {
  it('answers for contacts, hides strangers, and validates the list', async () => {
    const dave = await createUser(app);
    const erin = await createUser(app);
    const stranger = await createUser(app);
    await createGroup(app, dave, [erin]);
    await connectSocket(app, dave.token);
    await connectSocket(app, stranger.token);
    const res = await app.inject({
      method: 'GET',
      url: `/api/v1/presence?user_ids=${dave.user.id},${stranger.user.id}`,
      headers: erin.headers,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual([
      { user_id: dave.user.id, online: true, last_seen_at: null },
      { user_id: stranger.user.id, online: false, last_seen_at: null },
    ]);
    const repeated = await app.inject({
      method: 'GET',
      url: `/api/v1/presence?user_ids=${dave.user.id}&user_ids=${erin.user.id}`,
      headers: erin.headers,
    });
    expect(repeated.json().data).toHaveLength(2);
    const bad = await app.inject({
      method: 'GET',
      url: '/api/v1/presence?user_ids=nope',
      headers: erin.headers,
    });
    expect(bad.statusCode).toBe(400);
    const missing = await app.inject({ method: 'GET', url: '/api/v1/presence', headers: erin.headers });
    expect(missing.statusCode).toBe(400);
    const tooMany = Array.from({ length: 201 }, () => dave.user.id).join(',');
    const big = await app.inject({
      method: 'GET',
      url: `/api/v1/presence?user_ids=${tooMany}`,
      headers: erin.headers,
    });
    expect(big.statusCode).toBe(400);
    const anonymous = await app.inject({ method: 'GET', url: `/api/v1/presence?user_ids=${dave.user.id}` });
    expect(anonymous.statusCode).toBe(401);
  });
});
