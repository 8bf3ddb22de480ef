// The plain /ws gateway: auth by header, first message or (when enabled) URL; the same events as Socket.IO.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../../src/events/domain-events.js';
import { buildTestApp } from '../helpers/app.js';
import { createGroup, createUser, sendMessage, type TestUser } from '../helpers/factories.js';
import {
  closeAllSockets,
  connectSocket,
  connectWs,
  emitWithAck,
  listen,
  nextEvent,
} from '../helpers/sockets.js';
import { addMembers } from './fixtures.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  app = await buildTestApp();
  [alice, bob] = await Promise.all([createUser(app), createUser(app)]);
});
afterAll(async () => {
  closeAllSockets();
  await app.close();
});

const closed = (ws: { once: (ev: 'close', fn: (code: number) => void) => void }) =>
  new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

describe('/ws', () => {
  it('authenticates by header and delivers new_message in the JSON envelope', async () => {
    const conversationId = (await createGroup(app, alice, [bob])).id;
    const { ws, next } = await connectWs(app, { token: bob.token });
    expect((await next('ready')).data).toEqual({ user_id: bob.user.id });
    const sent = await sendMessage(app, alice, conversationId, 'to the plain socket');
    const frame = await next('new_message');
    expect(frame.data).toMatchObject({ id: sent.id, seq: sent.seq, conversation_id: conversationId });
    ws.close();
  });

  it('authenticates by a first auth message, answers ping, joins and follows membership moves', async () => {
    const carol = await createUser(app);
    const conversationId = (await createGroup(app, alice, [bob])).id;
    const { ws, next } = await connectWs(app);
    ws.send(JSON.stringify({ type: 'auth', token: carol.token }));
    await next('ready');
    ws.send(JSON.stringify({ type: 'ping', id: 7 }));
    expect(await next('pong')).toEqual({ type: 'pong', id: 7 });

    ws.send(JSON.stringify({ type: 'join_conversation', id: 1, data: { conversation_id: conversationId } }));
    expect(await next('ack')).toMatchObject({ id: 1, ok: false, error: { code: 'not_found' } });

    await addMembers(app, alice, conversationId, [carol]);
    expect((await next('member_added')).data).toMatchObject({ user_ids: [carol.user.id] });
    ws.send(JSON.stringify({ type: 'join_conversation', id: 2, data: { conversation_id: conversationId } }));
    expect(await next('ack')).toMatchObject({ id: 2, ok: true });
    const sent = await sendMessage(app, alice, conversationId, 'hi carol');
    let frame = await next('new_message');
    // System messages about the membership change may come first.
    while ((frame.data as { id: string }).id !== sent.id) frame = await next('new_message');
    expect(frame.data).toMatchObject({ content: 'hi carol', seq: sent.seq });
    ws.close();
  });

  it('answers unknown and malformed messages with error acks', async () => {
    const { ws, next } = await connectWs(app, { token: bob.token });
    await next('ready');
    ws.send('not json');
    expect(await next('ack')).toMatchObject({ ok: false, error: { code: 'validation_error' } });
    ws.send(JSON.stringify({ type: 'launch_rockets', id: 'x' }));
    expect(await next('ack')).toMatchObject({ id: 'x', ok: false, error: { code: 'unknown_event' } });
    ws.send(JSON.stringify({ type: 'join_conversation', data: { conversation_id: 'nope' } }));
    expect(await next('ack')).toMatchObject({ ok: false, error: { code: 'validation_error' } });
    ws.close();
  });

  it('carries the Socket.IO client events: send_message, typing, receipts, sync, presence', async () => {
    const conversationId = (await createGroup(app, alice, [bob])).id;
    const viewer = await connectSocket(app, alice.token);
    await emitWithAck(viewer, 'join_conversation', { conversation_id: conversationId });
    const { ws, next } = await connectWs(app, { token: bob.token });
    await next('ready');
    const send = (type: string, id: number, data: unknown) => ws.send(JSON.stringify({ type, id, data }));

    const arrived = nextEvent<MessageView>(viewer, 'new_message');
    send('send_message', 1, {
      conversation_id: conversationId,
      content: 'from plain ws',
      client_id: randomUUID(),
    });
    const sent = await next('ack');
    expect(sent).toMatchObject({
      id: 1,
      ok: true,
      data: { created: true, message: { content: 'from plain ws' } },
    });
    const message = (sent.data as { message: MessageView }).message;
    expect((await arrived).id).toBe(message.id);
    expect((await next('new_message')).data).toMatchObject({ id: message.id });

    const typing = nextEvent(viewer, 'user_typing');
    send('typing_start', 2, { conversation_id: conversationId });
    expect(await next('ack')).toMatchObject({ id: 2, ok: true });
    expect(await typing).toMatchObject({ user_id: bob.user.id, typing: true });

    const status = nextEvent(viewer, 'message_status', (p) => p.user_id === bob.user.id);
    send('message_read', 3, { conversation_id: conversationId, seq: message.seq });
    expect(await next('ack')).toMatchObject({ id: 3, ok: true, data: { read_seq: message.seq } });
    expect(await status).toMatchObject({ read_seq: message.seq });

    send('sync', 4, { cursors: { [conversationId]: message.seq - 1 } });
    const synced = await next('ack');
    expect(synced).toMatchObject({ id: 4, ok: true });
    expect(
      (synced.data as { conversations: Array<{ events: unknown[] }> }).conversations[0]?.events,
    ).toHaveLength(1);

    send('presence', 5, { user_ids: [alice.user.id] });
    expect(await next('ack')).toMatchObject({
      id: 5,
      ok: true,
      data: [{ user_id: alice.user.id, online: true }],
    });

    send('send_message', 6, { conversation_id: conversationId, content: 'x'.repeat(20_000) });
    expect(await next('ack')).toMatchObject({
      id: 6,
      ok: false,
      error: { code: 'validation_error', details: { field: 'content' } },
    });
    ws.close();
  });

  it('refuses a bad token with its code and closes', async () => {
    const { ws, next } = await connectWs(app, { token: 'garbage' });
    const code = closed(ws);
    expect(await next('error')).toMatchObject({ error: { code: 'token_invalid' } });
    expect(await code).toBe(4401);
  });

  it('refuses a first message that is not auth', async () => {
    const { ws, next } = await connectWs(app);
    const code = closed(ws);
    ws.send(JSON.stringify({ type: 'ping' }));
    expect(await next('error')).toMatchObject({ error: { code: 'unauthenticated' } });
    expect(await code).toBe(4401);
  });

  it('ignores a token in the URL unless configured', async () => {
    const { ws, next } = await connectWs(app, { query: `?token=${bob.token}` });
    ws.send(JSON.stringify({ type: 'ping' }));
    expect(await next('error')).toMatchObject({ error: { code: 'unauthenticated' } });
  });

  it('ends the connection when the session is revoked', async () => {
    const dave = await createUser(app);
    const { ws, next } = await connectWs(app, { token: dave.token });
    await next('ready');
    const code = closed(ws);
    app.tma.bus.publish('session.revoked', { session_id: dave.sessionId, user_id: dave.user.id });
    expect((await next('session_ended')).data).toEqual({ code: 'session_revoked' });
    expect(await code).toBe(4401);
  });

  it('drops upgrades to unknown paths', async () => {
    const base = (await listen(app)).replace('http', 'ws');
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(`${base}/elsewhere`);
    const failed = await new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(false));
      ws.once('error', () => resolve(true));
    });
    expect(failed).toBe(true);
  });
});

describe('/ws with WS_TOKEN_IN_URL', () => {
  it('accepts a token in the URL when configured', async () => {
    const other = await buildTestApp({ WS_TOKEN_IN_URL: 'true' });
    try {
      const user = await createUser(other);
      const { ws, next } = await connectWs(other, { query: `?token=${user.token}` });
      expect((await next('ready')).data).toEqual({ user_id: user.user.id });
      ws.close();
    } finally {
      await other.close();
    }
  });
});
