// Blocks: GET /blocks, PUT /blocks/{user_id}, DELETE /blocks/{user_id}.
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

function block(by: TestUser, userId: string) {
  return app.inject({ method: 'PUT', url: `/api/v1/blocks/${userId}`, headers: by.headers });
}

describe('PUT /blocks/{user_id}', () => {
  it('blocks a user and is idempotent', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    const events: DomainEventMap['user.blocked'][] = [];
    const off = app.tma.bus.subscribe('user.blocked', (e) => void events.push(e));
    const first = await block(alice, bob.user.id);
    expect(first.statusCode).toBe(200);
    expect(first.json().data).toMatchObject({ user: { id: bob.user.id, username: bob.user.username } });
    const second = await block(alice, bob.user.id);
    expect(second.statusCode).toBe(200);
    expect(second.json().data.created_at).toBe(first.json().data.created_at);
    off();
    expect(events).toEqual([{ blocker_id: alice.user.id, blocked_id: bob.user.id, blocked: true }]);
    expect(await app.tma.services.blocksRepository.hasBlocked(alice.user.id, bob.user.id)).toBe(true);
    expect(await app.tma.services.blocksRepository.hasBlocked(bob.user.id, alice.user.id)).toBe(false);
    expect(await app.tma.services.blocksRepository.isBlockedEitherWay(bob.user.id, alice.user.id)).toBe(true);
  });

  it('ends a friendship and removes pending requests between the two', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    const carol = await createUser(app);
    const sent = await app.inject({
      method: 'POST',
      url: '/api/v1/friends/requests',
      headers: alice.headers,
      payload: { user_id: bob.user.id },
    });
    const accepted = await app.inject({
      method: 'PUT',
      url: `/api/v1/friends/requests/${sent.json().data.id}/accept`,
      headers: bob.headers,
    });
    expect(accepted.statusCode).toBe(200);
    await app.inject({
      method: 'POST',
      url: '/api/v1/friends/requests',
      headers: carol.headers,
      payload: { user_id: alice.user.id },
    });
    expect(await app.tma.services.friendsRepository.areFriends(alice.user.id, bob.user.id)).toBe(true);

    expect((await block(alice, bob.user.id)).statusCode).toBe(200);
    expect((await block(alice, carol.user.id)).statusCode).toBe(200);
    expect(await app.tma.services.friendsRepository.areFriends(alice.user.id, bob.user.id)).toBe(false);
    expect(
      await app.tma.services.friendsRepository.findBetween(alice.user.id, carol.user.id),
    ).toBeUndefined();
    const requests = await app.inject({
      method: 'GET',
      url: '/api/v1/friends/requests',
      headers: alice.headers,
    });
    expect(requests.json().data).toEqual([]);
  });

  it('refuses to block yourself with 422', async () => {
    const alice = await createUser(app);
    const res = await block(alice, alice.user.id);
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('cannot_block_self');
  });

  it('answers 404 for an unknown user', async () => {
    const alice = await createUser(app);
    const res = await block(alice, UNKNOWN_ID);
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });

  it('answers 400 naming the field for a malformed id, 414 for an oversized one', async () => {
    const alice = await createUser(app);
    for (const bad of ['not-a-uuid', `${UNKNOWN_ID}0`, 'x'.repeat(90)]) {
      const res = await block(alice, bad);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'validation_error', details: { field: 'user_id' } });
    }
    const huge = await block(alice, 'x'.repeat(5000));
    expect(huge.statusCode).toBe(414);
  });

  it('answers 401 without a token', async () => {
    const res = await app.inject({ method: 'PUT', url: `/api/v1/blocks/${UNKNOWN_ID}` });
    expect(res.statusCode).toBe(401);
  });
});

describe('DELETE /blocks/{user_id}', () => {
  it('unblocks, idempotently', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    await block(alice, bob.user.id);
    for (let i = 0; i < 2; i++) {
      const res = await app.inject({
        method: 'DELETE',
        url: `/api/v1/blocks/${bob.user.id}`,
        headers: alice.headers,
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().data).toEqual({ user_id: bob.user.id, blocked: false });
    }
    expect(await app.tma.services.blocksRepository.isBlockedEitherWay(alice.user.id, bob.user.id)).toBe(
      false,
    );
  });

  it('does not let the blocked user lift the block', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    await block(alice, bob.user.id);
    const res = await app.inject({
      method: 'DELETE',
      url: `/api/v1/blocks/${alice.user.id}`,
      headers: bob.headers,
    });
    expect(res.statusCode).toBe(200);
    expect(await app.tma.services.blocksRepository.hasBlocked(alice.user.id, bob.user.id)).toBe(true);
  });

  it('answers 404 for an unknown user, 422 for yourself and 400 for a malformed id', async () => {
    const alice = await createUser(app);
    const unknown = await app.inject({
      method: 'DELETE',
      url: `/api/v1/blocks/${UNKNOWN_ID}`,
      headers: alice.headers,
    });
    expect(unknown.statusCode).toBe(404);
    const self = await app.inject({
      method: 'DELETE',
      url: `/api/v1/blocks/${alice.user.id}`,
      headers: alice.headers,
    });
    expect(self.statusCode).toBe(422);
    const bad = await app.inject({ method: 'DELETE', url: '/api/v1/blocks/123', headers: alice.headers });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.field).toBe('user_id');
  });
});

describe('GET /blocks', () => {
  it('lists only the caller’s blocks, newest first, with cursor pagination', async () => {
    const alice = await createUser(app);
    const others = [];
    for (let i = 0; i < 5; i++) others.push(await createUser(app));
    for (const other of others) await block(alice, other.user.id);
    const stranger = await createUser(app);
    await block(stranger, alice.user.id);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/v1/blocks?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await app.inject({ method: 'GET', url, headers: alice.headers });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.data.length).toBeLessThanOrEqual(2);
      seen.push(...body.data.map((b: { user: { id: string } }) => b.user.id));
      cursor = body.pagination.next_cursor;
      expect(body.pagination.has_more).toBe(cursor !== null);
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(others.map((o) => o.user.id).reverse());

    const bobs = await app.inject({ method: 'GET', url: '/api/v1/blocks', headers: others[0]?.headers });
    expect(bobs.json().data).toEqual([]);
  });

  it('answers 400 for a bad cursor, a limit out of range or an unknown parameter', async () => {
    const alice = await createUser(app);
    for (const query of [
      'cursor=garbage',
      'limit=0',
      'limit=101',
      'limit=abc',
      'foo=1',
      `cursor=${'a'.repeat(600)}`,
    ]) {
      const res = await app.inject({ method: 'GET', url: `/api/v1/blocks?${query}`, headers: alice.headers });
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.code).toBe('validation_error');
    }
  });
});
