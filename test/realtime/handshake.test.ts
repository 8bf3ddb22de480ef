// Socket handshakes: tokens as on REST, refusals with a code, revoked sessions and deactivated users cut off at once.
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ISSUER, revokedSessionKey, userStateKey } from '../../src/identity/access-tokens.js';
import { buildTestApp, TEST_JWT_SECRET } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';
import { closeAllSockets, connectSocket, emitWithAck, nextEvent, refusal } from '../helpers/sockets.js';

let app: FastifyInstance;

beforeAll(async () => {
  app = await buildTestApp();
});
afterEach(() => closeAllSockets());
afterAll(async () => {
  await app.close();
});

async function signed(claims: Record<string, unknown>, expiresIn: string | number, secret = TEST_JWT_SECRET) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(String(claims.sub))
    .setIssuer(LOCAL_ISSUER)
    .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

describe('socket handshake', () => {
  it('accepts a valid token on every namespace', async () => {
    const alice = await createUser(app);
    for (const ns of ['/messaging', '/calls', '/notifications']) {
      const socket = await connectSocket(app, alice.token, ns);
      expect(socket.connected).toBe(true);
    }
  });

  it('accepts the token as an Authorization header too', async () => {
    const alice = await createUser(app);
    const { io } = await import('socket.io-client');
    const address = app.server.address() as { port: number };
    const socket = io(`http://127.0.0.1:${address.port}/messaging`, {
      transports: ['websocket'],
      extraHeaders: { authorization: `Bearer ${alice.token}` },
      reconnection: false,
      forceNew: true,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    expect(socket.connected).toBe(true);
    socket.close();
  });

  it('refuses a missing token with unauthenticated', async () => {
    expect((await refusal(app, undefined)).code).toBe('unauthenticated');
  });

  it('refuses a garbage token with token_invalid', async () => {
    expect((await refusal(app, 'not-a-jwt')).code).toBe('token_invalid');
  });

  it('refuses a token signed with another secret with token_invalid', async () => {
    const alice = await createUser(app);
    const token = await signed(
      { sub: alice.user.id, sid: alice.sessionId, role: 'user' },
      '1h',
      'another-secret-another-secret-another-secret',
    );
    expect((await refusal(app, token)).code).toBe('token_invalid');
  });

  it('refuses an expired token with token_expired', async () => {
    const alice = await createUser(app);
    const token = await signed(
      { sub: alice.user.id, sid: alice.sessionId, role: 'user' },
      Math.floor(Date.now() / 1000) - 600,
    );
    expect((await refusal(app, token)).code).toBe('token_expired');
  });

  it('refuses an oversized token with token_invalid', async () => {
    expect((await refusal(app, 'x'.repeat(9000))).code).toBe('token_invalid');
  });

  it('refuses a revoked session with session_revoked', async () => {
    const alice = await createUser(app);
    await app.tma.cache.set(revokedSessionKey(alice.sessionId), true, 60);
    expect((await refusal(app, alice.token)).code).toBe('session_revoked');
  });

  it('refuses a deactivated user with user_deactivated', async () => {
    const alice = await createUser(app);
    await app.tma.cache.set(userStateKey(alice.user.id), 'deactivated', 60);
    expect((await refusal(app, alice.token)).code).toBe('user_deactivated');
  });
});

describe('session end', () => {
  it('disconnects every socket of a revoked session at once, and only those', async () => {
    const alice = await createUser(app);
    const other = await createUser(app);
    const a1 = await connectSocket(app, alice.token);
    const a2 = await connectSocket(app, alice.token, '/calls');
    const b = await connectSocket(app, other.token);
    const ended = nextEvent(a1, 'session_ended');
    const closed = Promise.all([nextEvent(a1, 'disconnect'), nextEvent(a2, 'disconnect')]);
    app.tma.bus.publish('session.revoked', { session_id: alice.sessionId, user_id: alice.user.id });
    expect(await ended).toEqual({ code: 'session_revoked' });
    await closed;
    expect(a1.connected).toBe(false);
    expect(a2.connected).toBe(false);
    expect(b.connected).toBe(true);
  });

  it('disconnects every socket of a deactivated user', async () => {
    const alice = await createUser(app);
    const a1 = await connectSocket(app, alice.token);
    const ended = nextEvent(a1, 'session_ended');
    const closed = nextEvent(a1, 'disconnect');
    app.tma.bus.publish('user.deactivated', { user_id: alice.user.id });
    expect(await ended).toEqual({ code: 'user_deactivated' });
    await closed;
    expect(a1.connected).toBe(false);
  });
});

describe('client events', () => {
  it('answers an unknown event with unknown_event and keeps the socket', async () => {
    const alice = await createUser(app);
    const socket = await connectSocket(app, alice.token);
    const ack = await emitWithAck(socket, 'launch_rockets', { now: true });
    expect(ack).toEqual({
      ok: false,
      error: { code: 'unknown_event', message: 'Unknown event: launch_rockets' },
    });
    expect(socket.connected).toBe(true);
  });

  it.each([
    ['no payload', []],
    ['a string', ['hello']],
    ['a bad uuid', [{ conversation_id: 'nope' }]],
    ['an extra field', [{ conversation_id: '0190d2c4-0000-7000-8000-000000000000', x: 1 }]],
  ])('answers a malformed join_conversation (%s) with validation_error', async (_name, args) => {
    const alice = await createUser(app);
    const socket = await connectSocket(app, alice.token);
    const ack = await emitWithAck(socket, 'join_conversation', ...args);
    expect(ack.ok).toBe(false);
    expect(ack.error?.code).toBe('validation_error');
    expect(socket.connected).toBe(true);
  });

  it('answers join_conversation for a conversation the user is not in with not_found', async () => {
    const alice = await createUser(app);
    const socket = await connectSocket(app, alice.token);
    const ack = await emitWithAck(socket, 'join_conversation', {
      conversation_id: '0190d2c4-0000-7000-8000-000000000000',
    });
    expect(ack.error?.code).toBe('not_found');
  });

  it('survives events without an ack callback', async () => {
    const alice = await createUser(app);
    const socket = await connectSocket(app, alice.token);
    socket.emit('join_conversation', 'garbage');
    socket.emit('whatever');
    const ack = await emitWithAck(socket, 'presence', { user_ids: [alice.user.id] });
    expect(ack.ok).toBe(true);
  });

  it('closes the connection of a frame over the transport cap', async () => {
    const alice = await createUser(app);
    const socket = await connectSocket(app, alice.token);
    const gone = nextEvent<string>(socket, 'disconnect');
    socket.emit('send_message', {
      conversation_id: 'x',
      content: 'x'.repeat(app.tma.config.realtime.maxPayloadBytes + 10),
    });
    expect(await gone).toMatch(/transport/);
  });
});

describe('event flood guard', () => {
  it('answers events beyond 30 per second on one socket with rate_limited and keeps the socket', async () => {
    const alice = await createUser(app);
    const socket = await connectSocket(app, alice.token);
    const acks = await Promise.all(
      Array.from({ length: 40 }, () =>
        emitWithAck(socket, 'leave_conversation', { conversation_id: alice.user.id }),
      ),
    );
    const limited = acks.filter((a) => a.error?.code === 'rate_limited');
    expect(acks.filter((a) => a.ok)).toHaveLength(30);
    expect(limited).toHaveLength(10);
    expect(limited[0]?.error?.retry_after).toBe(1);
    expect(socket.connected).toBe(true);
  });
});
