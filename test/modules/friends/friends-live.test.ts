// Friend requests live: friend_request, friend_request_updated, friend_request_cancelled and friend_removed reach
// the two people's user rooms only, after the change is stored, and never when the request fails.
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FriendRequestView } from '../../../src/modules/friends/friends.schemas.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser, type TestUser } from '../../helpers/factories.js';
import {
  barrier,
  type ClientSocket,
  closeAllSockets,
  connectSocket,
  nextEvent,
} from '../../helpers/sockets.js';

let app: FastifyInstance;

beforeAll(async () => {
  app = await buildTestApp();
});
afterEach(() => closeAllSockets());
afterAll(async () => {
  await app.close();
});

const UNKNOWN_ID = '01900000-0000-7000-8000-000000000000';
const EVENTS = ['friend_request', 'friend_request_updated', 'friend_request_cancelled', 'friend_removed'];

function sendRequest(from: TestUser, payload: unknown) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/friends/requests',
    headers: from.headers,
    payload: payload as object,
  });
}
function answer(by: TestUser, id: string, action: 'accept' | 'reject') {
  return app.inject({ method: 'PUT', url: `/api/v1/friends/requests/${id}/${action}`, headers: by.headers });
}
function removeFriend(by: TestUser, userId: string) {
  return app.inject({ method: 'DELETE', url: `/api/v1/friends/${userId}`, headers: by.headers });
}
function block(by: TestUser, userId: string) {
  return app.inject({ method: 'PUT', url: `/api/v1/blocks/${userId}`, headers: by.headers });
}
async function listRequests(by: TestUser): Promise<FriendRequestView[]> {
  const res = await app.inject({ method: 'GET', url: '/api/v1/friends/requests', headers: by.headers });
  return res.json().data;
}

/** Every friend event a socket receives, by event name, in order. */
function recordAll(socket: ClientSocket): Array<[string, unknown]> {
  const seen: Array<[string, unknown]> = [];
  for (const event of EVENTS) socket.on(event, (payload: unknown) => seen.push([event, payload]));
  return seen;
}

type Person = TestUser & { socket: ClientSocket };

/** A new user per name, each with one connected /messaging socket. */
function people<T extends string[]>(...names: T): Promise<{ [K in keyof T]: Person }> {
  return Promise.all(
    names.map(async () => {
      const user = await createUser(app);
      return { ...user, socket: await connectSocket(app, user.token) };
    }),
  ) as Promise<{ [K in keyof T]: Person }>;
}

describe('friend_request', () => {
  it('reaches the receiver as GET /friends/requests lists it, the sender as outgoing, and nobody else', async () => {
    const [alice, bob, carol] = await people('alice', 'bob', 'carol');
    const bob2 = await connectSocket(app, bob.token);
    const toBob = Promise.all(
      [bob.socket, bob2].map((s) => nextEvent<FriendRequestView>(s, 'friend_request')),
    );
    const toAlice = nextEvent<FriendRequestView>(alice.socket, 'friend_request');
    const leaked = recordAll(carol.socket);
    const res = await sendRequest(alice, { user_id: bob.user.id });
    expect(res.statusCode).toBe(201);

    const listed = await listRequests(bob);
    for (const got of await toBob) {
      expect(got).toEqual(listed[0]);
      expect(got).toMatchObject({
        id: res.json().data.id,
        status: 'pending',
        direction: 'incoming',
        user: { id: alice.user.id },
      });
    }
    expect(await toAlice).toEqual(res.json().data);
    expect((await toAlice).direction).toBe('outgoing');
    await barrier(carol.socket);
    expect(leaked).toEqual([]);
  });

  it('is not sent when the request fails: blocked, self, unknown, deactivated, malformed, already friends', async () => {
    const [alice, bob, carol, dave] = await people('alice', 'bob', 'carol', 'dave');
    expect((await block(bob, alice.user.id)).statusCode).toBe(200);
    const gone = await createUser(app);
    await app.tma.services.usersRepository.update(gone.user.id, { deactivated_at: new Date() });
    const sent = await sendRequest(carol, { user_id: dave.user.id });
    expect((await answer(dave, sent.json().data.id, 'accept')).statusCode).toBe(200);
    await Promise.all([carol, dave].map((p) => barrier(p.socket)));
    const seen = [alice, bob, carol, dave].map((p) => recordAll(p.socket));

    // The blocked one asks the blocker, and the blocker asks the blocked one: 403 both ways.
    expect((await sendRequest(alice, { user_id: bob.user.id })).statusCode).toBe(403);
    expect((await sendRequest(bob, { username: alice.user.username })).statusCode).toBe(403);
    expect((await sendRequest(alice, { user_id: alice.user.id })).statusCode).toBe(422);
    expect((await sendRequest(alice, { user_id: UNKNOWN_ID })).statusCode).toBe(404);
    expect((await sendRequest(alice, { username: 'nobody-by-that-name' })).statusCode).toBe(404);
    expect((await sendRequest(alice, { user_id: gone.user.id })).statusCode).toBe(404);
    for (const body of [
      { user_id: 'nope' },
      { username: 'x'.repeat(65) },
      {},
      { user_id: carol.user.id, x: 1 },
    ]) {
      expect((await sendRequest(alice, body)).statusCode).toBe(400);
    }

    // Already friends: 409, nothing new.
    expect((await sendRequest(carol, { user_id: dave.user.id })).statusCode).toBe(409);
    expect((await sendRequest(dave, { user_id: carol.user.id })).statusCode).toBe(409);

    await Promise.all([alice, bob, carol, dave].map((p) => barrier(p.socket)));
    expect(seen).toEqual([[], [], [], []]);
  });

  it('is sent once when the same request is sent twice', async () => {
    const [alice, bob] = await people('alice', 'bob');
    const seen = recordAll(bob.socket);
    expect((await sendRequest(alice, { user_id: bob.user.id })).statusCode).toBe(201);
    expect((await sendRequest(alice, { username: bob.user.username })).statusCode).toBe(200);
    await barrier(bob.socket);
    expect(seen.map(([event]) => event)).toEqual(['friend_request']);
  });
});

describe('friend_request_updated', () => {
  it('tells both people about an accept, each with their own view, and nobody else', async () => {
    const [alice, bob, carol] = await people('alice', 'bob', 'carol');
    const id = (await sendRequest(alice, { user_id: bob.user.id })).json().data.id;
    const toAlice = nextEvent<FriendRequestView>(alice.socket, 'friend_request_updated');
    const toBob = nextEvent<FriendRequestView>(bob.socket, 'friend_request_updated');
    const leaked = recordAll(carol.socket);
    const res = await answer(bob, id, 'accept');
    expect(res.statusCode).toBe(200);
    expect(await toAlice).toMatchObject({
      id,
      status: 'accepted',
      direction: 'outgoing',
      user: { id: bob.user.id },
    });
    expect(await toBob).toEqual(res.json().data);
    await barrier(carol.socket);
    expect(leaked).toEqual([]);
  });

  it('tells the requester about a rejection', async () => {
    const [alice, bob] = await people('alice', 'bob');
    const id = (await sendRequest(alice, { user_id: bob.user.id })).json().data.id;
    const toAlice = nextEvent<FriendRequestView>(alice.socket, 'friend_request_updated');
    expect((await answer(bob, id, 'reject')).statusCode).toBe(200);
    expect(await toAlice).toMatchObject({ id, status: 'rejected', direction: 'outgoing' });
  });

  it('tells the first requester when the other side asks back (the automatic accept)', async () => {
    const [alice, bob] = await people('alice', 'bob');
    const id = (await sendRequest(alice, { user_id: bob.user.id })).json().data.id;
    await barrier(bob.socket);
    const toAlice = nextEvent<FriendRequestView>(alice.socket, 'friend_request_updated');
    const bobSeen = recordAll(bob.socket);
    const res = await sendRequest(bob, { user_id: alice.user.id });
    expect(res.statusCode).toBe(200);
    expect(await toAlice).toMatchObject({ id, status: 'accepted', user: { id: bob.user.id } });
    await barrier(bob.socket);
    expect(bobSeen).toEqual([['friend_request_updated', res.json().data]]);
  });

  it('is not sent when an answer fails: requester, stranger, unknown id, already answered, malformed id', async () => {
    const [alice, bob, eve] = await people('alice', 'bob', 'eve');
    const id = (await sendRequest(alice, { user_id: bob.user.id })).json().data.id;
    await barrier(bob.socket);
    const seen = [alice, bob, eve].map((p) => recordAll(p.socket));
    for (const action of ['accept', 'reject'] as const) {
      expect((await answer(alice, id, action)).statusCode).toBe(404);
      expect((await answer(eve, id, action)).statusCode).toBe(404);
      expect((await answer(bob, UNKNOWN_ID, action)).statusCode).toBe(404);
      expect((await answer(bob, 'abc', action)).statusCode).toBe(400);
    }
    await Promise.all([alice, bob, eve].map((p) => barrier(p.socket)));
    expect(seen).toEqual([[], [], []]);

    expect((await answer(bob, id, 'reject')).statusCode).toBe(200);
    await barrier(alice.socket);
    const afterAnswer = recordAll(alice.socket);
    expect((await answer(bob, id, 'accept')).statusCode).toBe(409);
    await barrier(alice.socket);
    expect(afterAnswer).toEqual([]);
  });
});

describe('friend_request_cancelled and friend_removed', () => {
  it('tells both when a pending request is withdrawn', async () => {
    const [alice, bob, carol] = await people('alice', 'bob', 'carol');
    const id = (await sendRequest(alice, { user_id: bob.user.id })).json().data.id;
    const toBob = nextEvent(bob.socket, 'friend_request_cancelled');
    const toAlice = nextEvent(alice.socket, 'friend_request_cancelled');
    const leaked = recordAll(carol.socket);
    expect((await removeFriend(alice, bob.user.id)).statusCode).toBe(200);
    expect(await toBob).toEqual({ id, user_id: alice.user.id });
    expect(await toAlice).toEqual({ id, user_id: bob.user.id });
    await barrier(carol.socket);
    expect(leaked).toEqual([]);
  });

  it('tells both when a friendship ends, and nothing when there was none', async () => {
    const [alice, bob, carol] = await people('alice', 'bob', 'carol');
    const id = (await sendRequest(alice, { user_id: bob.user.id })).json().data.id;
    await answer(bob, id, 'accept');
    const toAlice = nextEvent(alice.socket, 'friend_removed');
    const toBob = nextEvent(bob.socket, 'friend_removed');
    const leaked = recordAll(carol.socket);
    expect((await removeFriend(bob, alice.user.id)).statusCode).toBe(200);
    expect(await toAlice).toEqual({ user_id: bob.user.id });
    expect(await toBob).toEqual({ user_id: alice.user.id });

    const after = [alice, bob].map((p) => recordAll(p.socket));
    expect((await removeFriend(bob, alice.user.id)).statusCode).toBe(404);
    expect((await removeFriend(carol, alice.user.id)).statusCode).toBe(404);
    expect((await removeFriend(alice, UNKNOWN_ID)).statusCode).toBe(404);
    expect((await removeFriend(alice, 'zzz')).statusCode).toBe(400);
    await Promise.all([alice, bob, carol].map((p) => barrier(p.socket)));
    expect(after).toEqual([[], []]);
    expect(leaked).toEqual([]);
  });

  it('a block ends a friendship or drops a request the same way', async () => {
    const [alice, bob, carol] = await people('alice', 'bob', 'carol');
    await answer(bob, (await sendRequest(alice, { user_id: bob.user.id })).json().data.id, 'accept');
    const removed = nextEvent(alice.socket, 'friend_removed');
    expect((await block(bob, alice.user.id)).statusCode).toBe(200);
    expect(await removed).toEqual({ user_id: bob.user.id });

    const id = (await sendRequest(carol, { user_id: bob.user.id })).json().data.id;
    const cancelled = nextEvent(bob.socket, 'friend_request_cancelled');
    expect((await block(bob, carol.user.id)).statusCode).toBe(200);
    expect(await cancelled).toEqual({ id, user_id: carol.user.id });
  });
});
