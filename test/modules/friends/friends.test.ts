// Friends: requests (send, auto-accept, accept, reject), lists, removal, and their errors.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEventMap } from '../../../src/events/domain-events.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser, type TestUser } from '../../helpers/factories.js';

let app: FastifyInstance;

beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const UNKNOWN_ID = '01900000-0000-7000-8000-000000000000';

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
async function befriend(a: TestUser, b: TestUser): Promise<void> {
  const sent = await sendRequest(a, { user_id: b.user.id });
  expect((await answer(b, sent.json().data.id, 'accept')).statusCode).toBe(200);
}
function get(by: TestUser, url: string) {
  return app.inject({ method: 'GET', url, headers: by.headers });
}

describe('POST /friends/requests', () => {
  it('sends a request by username (case-insensitive) and shows it on both sides', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    const events: DomainEventMap['friendship.updated'][] = [];
    const off = app.tma.bus.subscribe('friendship.updated', (e) => void events.push(e));
    const res = await sendRequest(alice, { username: bob.user.username.toUpperCase() });
    off();
    expect(res.statusCode).toBe(201);
    const request = res.json().data;
    expect(request).toMatchObject({ status: 'pending', direction: 'outgoing', user: { id: bob.user.id } });
    expect(events).toEqual([
      {
        friendship_id: request.id,
        requester_id: alice.user.id,
        receiver_id: bob.user.id,
        status: 'pending',
        actor_id: alice.user.id,
        views: {
          [alice.user.id]: request,
          [bob.user.id]: expect.objectContaining({ direction: 'incoming' }),
        },
      },
    ]);

    const incoming = await get(bob, '/api/v1/friends/requests');
    expect(incoming.json().data).toEqual([
      expect.objectContaining({
        id: request.id,
        direction: 'incoming',
        user: expect.objectContaining({ id: alice.user.id }),
      }),
    ]);
    expect(events[0]?.views?.[bob.user.id]).toEqual(incoming.json().data[0]);
    const outgoing = await get(alice, '/api/v1/friends/requests');
    expect(outgoing.json().data).toEqual([
      expect.objectContaining({ id: request.id, direction: 'outgoing' }),
    ]);
  });

  it('returns the existing request (200) when sent twice', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    const first = await sendRequest(alice, { user_id: bob.user.id });
    const second = await sendRequest(alice, { user_id: bob.user.id });
    expect(second.statusCode).toBe(200);
    expect(second.json().data.id).toBe(first.json().data.id);
  });

  it('accepts a pending request from the other side automatically', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    const first = await sendRequest(alice, { user_id: bob.user.id });
    const res = await sendRequest(bob, { username: alice.user.username });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({
      id: first.json().data.id,
      status: 'accepted',
      direction: 'incoming',
    });
    expect(await app.tma.services.friendsRepository.areFriends(alice.user.id, bob.user.id)).toBe(true);
  });

  it('makes crossing requests sent at the same time a friendship', async () => {
    const pairs: Array<[TestUser, TestUser]> = [];
    for (let i = 0; i < 5; i++) pairs.push([await createUser(app), await createUser(app)]);
    const results = await Promise.all(
      pairs.flatMap(([a, b]) => [
        sendRequest(a, { user_id: b.user.id }),
        sendRequest(b, { user_id: a.user.id }),
      ]),
    );
    for (const res of results) expect([200, 201]).toContain(res.statusCode);
    for (const [a, b] of pairs) {
      expect(await app.tma.services.friendsRepository.areFriends(a.user.id, b.user.id)).toBe(true);
    }
  });

  it('answers 409 already_friends between friends', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    await befriend(alice, bob);
    for (const [from, to] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const res = await sendRequest(from, { user_id: to.user.id });
      expect(res.statusCode).toBe(409);
      expect(res.json().error.code).toBe('already_friends');
    }
  });

  it('answers 422 for yourself and 404 for unknown or deactivated users', async () => {
    const alice = await createUser(app);
    const self = await sendRequest(alice, { username: alice.user.username });
    expect(self.statusCode).toBe(422);
    expect(self.json().error.code).toBe('cannot_friend_self');
    expect((await sendRequest(alice, { user_id: UNKNOWN_ID })).statusCode).toBe(404);
    expect((await sendRequest(alice, { username: 'nobody-by-that-name' })).json().error.code).toBe(
      'not_found',
    );
    const gone = await createUser(app);
    await app.tma.services.usersRepository.update(gone.user.id, { deactivated_at: new Date() });
    expect((await sendRequest(alice, { user_id: gone.user.id })).statusCode).toBe(404);
  });

  it('answers 403 blocked when either one blocked the other, without telling who', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    await app.inject({ method: 'PUT', url: `/api/v1/blocks/${bob.user.id}`, headers: alice.headers });
    for (const [from, to] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const res = await sendRequest(from, { user_id: to.user.id });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('blocked');
    }
    expect(await app.tma.services.friendsRepository.findBetween(alice.user.id, bob.user.id)).toBeUndefined();
  });

  it('answers 400 for malformed and oversized bodies', async () => {
    const alice = await createUser(app);
    const bodies: unknown[] = [
      {},
      { username: '' },
      { username: 'x'.repeat(65) },
      { user_id: 'nope' },
      { username: 'a', user_id: UNKNOWN_ID },
      { username: 42 },
      { username: 'a', extra: true },
    ];
    for (const body of bodies) {
      const res = await sendRequest(alice, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.code).toBe('validation_error');
    }
    const notJson = await app.inject({
      method: 'POST',
      url: '/api/v1/friends/requests',
      headers: { ...alice.headers, 'content-type': 'application/json' },
      payload: '{"username":',
    });
    expect(notJson.statusCode).toBe(400);
  });

  it('answers 401 without a token', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/friends/requests',
      payload: { username: 'x' },
    });
    expect(res.statusCode).toBe(401);
  });

  it('lets a rejected requester ask again', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    const first = await sendRequest(alice, { user_id: bob.user.id });
    await answer(bob, first.json().data.id, 'reject');
    const again = await sendRequest(alice, { user_id: bob.user.id });
    expect(again.statusCode).toBe(201);
    expect(again.json().data.status).toBe('pending');
    const fromBob = await sendRequest(bob, { user_id: alice.user.id });
    expect(fromBob.json().data.status).toBe('accepted');
  });
});

describe('PUT /friends/requests/{id}/accept|reject', () => {
  it('accept makes them friends, on both lists', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    const sent = await sendRequest(alice, { user_id: bob.user.id });
    const res = await answer(bob, sent.json().data.id, 'accept');
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({
      status: 'accepted',
      direction: 'incoming',
      user: { id: alice.user.id },
    });
    const alicesFriends = await get(alice, '/api/v1/friends');
    expect(alicesFriends.json().data).toEqual([
      expect.objectContaining({ user: expect.objectContaining({ id: bob.user.id }) }),
    ]);
    const bobsFriends = await get(bob, '/api/v1/friends');
    expect(bobsFriends.json().data.map((f: { user: { id: string } }) => f.user.id)).toEqual([alice.user.id]);
    expect((await get(bob, '/api/v1/friends/requests')).json().data).toEqual([]);
    expect(await app.tma.services.friendsRepository.friendIds(bob.user.id)).toEqual([alice.user.id]);
  });

  it('reject leaves no friendship and no pending request', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    const sent = await sendRequest(alice, { user_id: bob.user.id });
    const res = await answer(bob, sent.json().data.id, 'reject');
    expect(res.statusCode).toBe(200);
    expect(res.json().data.status).toBe('rejected');
    expect((await get(alice, '/api/v1/friends/requests')).json().data).toEqual([]);
    expect((await get(alice, '/api/v1/friends')).json().data).toEqual([]);
  });

  it('answers 404 to the requester and to strangers, and for unknown ids', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    const eve = await createUser(app);
    const id = (await sendRequest(alice, { user_id: bob.user.id })).json().data.id;
    for (const action of ['accept', 'reject'] as const) {
      expect((await answer(alice, id, action)).statusCode).toBe(404);
      expect((await answer(eve, id, action)).statusCode).toBe(404);
      expect((await answer(bob, UNKNOWN_ID, action)).statusCode).toBe(404);
    }
    expect(await app.tma.services.friendsRepository.areFriends(alice.user.id, bob.user.id)).toBe(false);
  });

  it('answers 409 when the request was already answered', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    const id = (await sendRequest(alice, { user_id: bob.user.id })).json().data.id;
    await answer(bob, id, 'accept');
    const again = await answer(bob, id, 'reject');
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('request_not_pending');
  });

  it('answers 400 for a malformed id', async () => {
    const bob = await createUser(app);
    const res = await answer(bob, 'abc', 'accept');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.field).toBe('id');
  });
});

describe('DELETE /friends/{user_id}', () => {
  it('removes a friendship for both', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    await befriend(alice, bob);
    const res = await app.inject({
      method: 'DELETE',
      url: `/api/v1/friends/${alice.user.id}`,
      headers: bob.headers,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({ user_id: alice.user.id, removed: true });
    expect((await get(alice, '/api/v1/friends')).json().data).toEqual([]);
    const again = await app.inject({
      method: 'DELETE',
      url: `/api/v1/friends/${alice.user.id}`,
      headers: bob.headers,
    });
    expect(again.statusCode).toBe(404);
  });

  it('withdraws a pending request', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    await sendRequest(alice, { user_id: bob.user.id });
    const res = await app.inject({
      method: 'DELETE',
      url: `/api/v1/friends/${bob.user.id}`,
      headers: alice.headers,
    });
    expect(res.statusCode).toBe(200);
    expect((await get(bob, '/api/v1/friends/requests')).json().data).toEqual([]);
  });

  it('answers 404 for strangers, unknown users and yourself; 400 for a malformed id', async () => {
    const alice = await createUser(app);
    const eve = await createUser(app);
    for (const id of [eve.user.id, UNKNOWN_ID, alice.user.id]) {
      const res = await app.inject({
        method: 'DELETE',
        url: `/api/v1/friends/${id}`,
        headers: alice.headers,
      });
      expect(res.statusCode).toBe(404);
    }
    const bad = await app.inject({ method: 'DELETE', url: '/api/v1/friends/zzz', headers: alice.headers });
    expect(bad.statusCode).toBe(400);
  });
});

describe('GET /friends and /friends/requests', () => {
  it('paginates with opaque cursors, without duplicates', async () => {
    const alice = await createUser(app);
    const friends: TestUser[] = [];
    for (let i = 0; i < 5; i++) {
      const f = await createUser(app);
      await befriend(f, alice);
      friends.push(f);
    }
    for (const path of ['/api/v1/friends', '/api/v1/friends/requests']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let rounds = 0;
      do {
        const url: string = `${path}?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const res = await get(alice, url);
        expect(res.statusCode).toBe(200);
        seen.push(...res.json().data.map((f: { user: { id: string } }) => f.user.id));
        cursor = res.json().pagination.next_cursor;
        rounds++;
      } while (cursor && rounds < 10);
      if (path === '/api/v1/friends') {
        expect(seen).toEqual(friends.map((f) => f.user.id).reverse());
        expect(rounds).toBe(3);
      } else {
        expect(seen).toEqual([]);
      }
    }
  });

  it('answers 400 for bad cursors and limits', async () => {
    const alice = await createUser(app);
    for (const path of ['/api/v1/friends', '/api/v1/friends/requests']) {
      for (const query of ['cursor=%%%', 'cursor=eyJ4IjoxfQ', 'limit=0', 'limit=1000', 'other=1']) {
        const res = await get(alice, `${path}?${query}`);
        expect(res.statusCode, `${path}?${query}`).toBe(400);
      }
    }
  });
});
