// Friend events across two instances sharing PostgreSQL and Redis: the change is made on one, the people are
// connected to the other, and a third person there hears nothing.
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FriendRequestView } from '../../../src/modules/friends/friends.schemas.js';
import { buildTestApp, sharedBackends } from '../../helpers/app.js';
import { createUser, type TestUser } from '../../helpers/factories.js';
import { barrierFrom, closeAllSockets, collect, connectSocket, nextEvent } from '../../helpers/sockets.js';

describe('friend events on two instances (needs TEST_DATABASE_URL and TEST_REDIS_URL)', () => {
  let one: FastifyInstance;
  let two: FastifyInstance;

  beforeAll(async () => {
    const shared = await sharedBackends();
    one = await buildTestApp({}, shared);
    two = await buildTestApp({}, shared);
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => {
    await Promise.all([one?.close(), two?.close()]);
  });

  function call(
    app: FastifyInstance,
    by: TestUser,
    method: 'POST' | 'PUT' | 'DELETE',
    url: string,
    payload?: object,
  ) {
    return app.inject({ method, url: `/api/v1${url}`, headers: by.headers, ...(payload ? { payload } : {}) });
  }

  it('sends friend_request, friend_request_updated and friend_removed to the other instance, only to the two', async () => {
    const [alice, bob, carol] = await Promise.all([createUser(one), createUser(one), createUser(one)]);
    const [a, b, c] = await Promise.all([
      connectSocket(two, alice.token),
      connectSocket(two, bob.token),
      connectSocket(two, carol.token),
    ]);
    const leaked = ['friend_request', 'friend_request_updated', 'friend_removed'].map((e) => collect(c, e));

    const request = nextEvent<FriendRequestView>(b, 'friend_request');
    const sent = await call(one, alice, 'POST', '/friends/requests', { user_id: bob.user.id });
    expect(sent.statusCode).toBe(201);
    expect(await request).toMatchObject({
      id: sent.json().data.id,
      direction: 'incoming',
      user: { id: alice.user.id },
    });

    const accepted = nextEvent<FriendRequestView>(a, 'friend_request_updated');
    expect((await call(one, bob, 'PUT', `/friends/requests/${sent.json().data.id}/accept`)).statusCode).toBe(
      200,
    );
    expect(await accepted).toMatchObject({
      status: 'accepted',
      direction: 'outgoing',
      user: { id: bob.user.id },
    });

    const removed = nextEvent(b, 'friend_removed');
    expect((await call(one, alice, 'DELETE', `/friends/${bob.user.id}`)).statusCode).toBe(200);
    expect(await removed).toEqual({ user_id: alice.user.id });

    await barrierFrom(one, c, carol.user.id);
    expect(leaked).toEqual([[], [], []]);
  });

  it('sends nothing across instances when a blocked person asks', async () => {
    const [alice, bob] = await Promise.all([createUser(one), createUser(one)]);
    expect((await call(one, bob, 'PUT', `/blocks/${alice.user.id}`)).statusCode).toBe(200);
    const b = await connectSocket(two, bob.token);
    const seen = collect(b, 'friend_request');
    expect((await call(one, alice, 'POST', '/friends/requests', { user_id: bob.user.id })).statusCode).toBe(
      403,
    );
    await barrierFrom(one, b, bob.user.id);
    expect(seen).toEqual([]);
  });
});
