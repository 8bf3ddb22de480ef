import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../helpers/app.js';
import { createDm, createGroup, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';
import { call, countQueries } from './messaging-helpers.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let dave: TestUser;

beforeAll(async () => {
  app = await buildTestApp({ MAX_GROUP_MEMBERS: '5' });
  [alice, bob, carol, dave] = await Promise.all([
    createUser(app),
    createUser(app),
    createUser(app),
    createUser(app),
  ]);
});
afterAll(async () => {
  await app.close();
});

describe('POST /conversations (dm)', () => {
  it('creates a DM once (201) and returns the same one afterwards (200), from either side', async () => {
    const first = await call(app, alice, 'POST', '/conversations', {
      type: 'dm',
      member_ids: [dave.user.id],
    });
    expect(first.statusCode).toBe(201);
    const dm = first.json().data;
    expect(dm).toMatchObject({ type: 'dm', name: null, last_seq: 0, unread_count: 0, last_message: null });
    expect(dm.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual(
      [alice.user.id, dave.user.id].sort(),
    );
    const again = await call(app, dave, 'POST', '/conversations', {
      type: 'dm',
      member_ids: [alice.user.id],
    });
    expect(again.statusCode).toBe(200);
    expect(again.json().data.id).toBe(dm.id);
  });

  it('gives one conversation to 20 parallel creations of the same pair', async () => {
    const [x, y] = await Promise.all([createUser(app), createUser(app)]);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? call(app, x, 'POST', '/conversations', { type: 'dm', member_ids: [y.user.id] })
          : call(app, y, 'POST', '/conversations', { type: 'dm', member_ids: [x.user.id] }),
      ),
    );
    expect(results.every((r) => r.statusCode === 200 || r.statusCode === 201)).toBe(true);
    expect(new Set(results.map((r) => r.json().data.id)).size).toBe(1);
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(1);
    const count = await app.tma.db
      .selectFrom('conversations')
      .where('dm_key', '=', `dm:${[x.user.id, y.user.id].sort().join(':')}`)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
  });

  it('refuses a DM with yourself, with two others, or with nobody (400 member_ids)', async () => {
    for (const member_ids of [[alice.user.id], [bob.user.id, carol.user.id], []]) {
      const res = await call(app, alice, 'POST', '/conversations', { type: 'dm', member_ids });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details.field).toBe('member_ids');
    }
  });

  it('answers 404 for an unknown user', async () => {
    const res = await call(app, alice, 'POST', '/conversations', {
      type: 'dm',
      member_ids: ['01900000-0000-7000-8000-000000000000'],
    });
    expect(res.statusCode).toBe(404);
  });

  it('refuses a DM between blocked users either way (403 blocked)', async () => {
    const [x, y] = await Promise.all([createUser(app), createUser(app)]);
    await app.tma.db
      .insertInto('user_blocks')
      .values({ blocker_id: y.user.id, blocked_id: x.user.id })
      .execute();
    for (const [from, to] of [
      [x, y],
      [y, x],
    ] as const) {
      const res = await call(app, from, 'POST', '/conversations', { type: 'dm', member_ids: [to.user.id] });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('blocked');
    }
  });

  it('with DM_REQUIRES_FRIENDSHIP, only friends may open a DM (403 friendship_required)', async () => {
    const strict = await buildTestApp({ DM_REQUIRES_FRIENDSHIP: 'true' });
    try {
      const [x, y, z] = await Promise.all([createUser(strict), createUser(strict), createUser(strict)]);
      const refused = await call(strict, x, 'POST', '/conversations', {
        type: 'dm',
        member_ids: [y.user.id],
      });
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error.code).toBe('friendship_required');
      await strict.tma.db
        .insertInto('friendships')
        .values({
          id: crypto.randomUUID(),
          requester_id: x.user.id,
          receiver_id: z.user.id,
          status: 'accepted',
        })
        .execute();
      const allowed = await call(strict, z, 'POST', '/conversations', {
        type: 'dm',
        member_ids: [x.user.id],
      });
      expect(allowed.statusCode).toBe(201);
    } finally {
      await strict.close();
    }
  });
});

describe('POST /conversations (group)', () => {
  it('creates a group with the creator as admin and no seq taken', async () => {
    const res = await call(app, alice, 'POST', '/conversations', {
      type: 'group',
      name: '  Launch  ',
      member_ids: [bob.user.id, carol.user.id, bob.user.id, alice.user.id],
    });
    expect(res.statusCode).toBe(201);
    const group = res.json().data;
    expect(group).toMatchObject({ type: 'group', name: 'Launch', last_seq: 0, my_role: 'admin' });
    const roles = Object.fromEntries(
      group.members.map((m: { user_id: string; role: string }) => [m.user_id, m.role]),
    );
    expect(roles).toEqual({ [alice.user.id]: 'admin', [bob.user.id]: 'member', [carol.user.id]: 'member' });
  });

  it('needs a name (400 name), known users (422 unknown_user) and the size cap (422 group_too_large)', async () => {
    const noName = await call(app, alice, 'POST', '/conversations', {
      type: 'group',
      name: '  ',
      member_ids: [],
    });
    expect(noName.statusCode).toBe(400);
    expect(noName.json().error.details.field).toBe('name');
    const unknown = await call(app, alice, 'POST', '/conversations', {
      type: 'group',
      name: 'x',
      member_ids: ['01900000-0000-7000-8000-000000000001'],
    });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().error.code).toBe('unknown_user');
    const extra = await Promise.all([createUser(app), createUser(app)]);
    const tooBig = await call(app, alice, 'POST', '/conversations', {
      type: 'group',
      name: 'big',
      member_ids: [bob, carol, dave, ...extra].map((u) => u.user.id),
    });
    expect(tooBig.statusCode).toBe(422);
    expect(tooBig.json().error.code).toBe('group_too_large');
  });

  it('refuses malformed and oversized bodies with the field named, leaving nothing behind', async () => {
    const before = await app.tma.db
      .selectFrom('conversations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const cases: Array<[unknown, string]> = [
      [{ type: 'channel', member_ids: [] }, 'type'],
      [{ type: 'group', name: 'x', member_ids: ['not-a-uuid'] }, 'member_ids.0'],
      [{ type: 'group', name: 'x'.repeat(101), member_ids: [] }, 'name'],
      [{ type: 'group', name: 'x', member_ids: [], extra: 1 }, 'extra'],
      [{ name: 'x', member_ids: [] }, 'type'],
    ];
    for (const [body, field] of cases) {
      const res = await call(app, alice, 'POST', '/conversations', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.details.field).toBe(field);
    }
    const after = await app.tma.db
      .selectFrom('conversations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it('refuses adding a user who blocked the creator (403 blocked)', async () => {
    const blocker = await createUser(app);
    await app.tma.db
      .insertInto('user_blocks')
      .values({ blocker_id: blocker.user.id, blocked_id: alice.user.id })
      .execute();
    const res = await call(app, alice, 'POST', '/conversations', {
      type: 'group',
      name: 'x',
      member_ids: [blocker.user.id],
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('blocked');
  });

  it('requires authentication', async () => {
    const res = await call(app, null, 'POST', '/conversations', { type: 'group', name: 'x', member_ids: [] });
    expect(res.statusCode).toBe(401);
  });
});

describe('GET /conversations', () => {
  it('lists by last activity with last message, unread count and members, paginated', async () => {
    const u = await createUser(app);
    const groups = [];
    for (let i = 0; i < 4; i++) groups.push(await createGroup(app, alice, [u], { name: `g${i}` }));
    // Activity: g1 newest, then g3; g0 and g2 keep their creation order.
    await sendMessage(app, alice, (groups[3] as { id: string }).id, 'hello 3');
    await sendMessage(app, alice, (groups[1] as { id: string }).id, 'hello 1');
    const first = await call(app, u, 'GET', '/conversations?limit=3');
    expect(first.statusCode).toBe(200);
    const body = first.json();
    expect(body.data.map((c: { name: string }) => c.name)).toEqual(['g1', 'g3', 'g2']);
    expect(body.data[0]).toMatchObject({ last_seq: 1, unread_count: 1, my_role: 'member' });
    expect(body.data[0].last_message).toMatchObject({ content: 'hello 1', seq: 1, reactions: [] });
    expect(body.data[0].members).toHaveLength(2);
    expect(body.pagination.has_more).toBe(true);
    const second = await call(app, u, 'GET', `/conversations?limit=3&cursor=${body.pagination.next_cursor}`);
    expect(second.json().data.map((c: { name: string }) => c.name)).toEqual(['g0']);
    expect(second.json().pagination).toEqual({ next_cursor: null, has_more: false });
  });

  it('runs the same number of queries for 2 and for 30 conversations', async () => {
    const small = await createUser(app);
    const large = await createUser(app);
    for (let i = 0; i < 2; i++) {
      const g = await createGroup(app, small, [bob], { name: `s${i}` });
      await sendMessage(app, bob, g.id, 'x');
    }
    for (let i = 0; i < 30; i++) {
      const g = await createGroup(app, large, [bob, carol], { name: `l${i}` });
      await sendMessage(app, bob, g.id, 'x');
    }
    const q1 = await countQueries(app, async () => {
      const res = await call(app, small, 'GET', '/conversations?limit=100');
      expect(res.json().data).toHaveLength(2);
    });
    const q2 = await countQueries(app, async () => {
      const res = await call(app, large, 'GET', '/conversations?limit=100');
      expect(res.json().data).toHaveLength(30);
    });
    expect(q2).toBe(q1);
    expect(q1).toBeGreaterThan(0);
    expect(q1).toBeLessThanOrEqual(4);
  });

  it('refuses a malformed cursor and an out-of-range limit (400)', async () => {
    expect((await call(app, alice, 'GET', '/conversations?cursor=%%%')).statusCode).toBe(400);
    const limit = await call(app, alice, 'GET', '/conversations?limit=101');
    expect(limit.statusCode).toBe(400);
    expect(limit.json().error.details.field).toBe('limit');
  });
});

describe('GET /conversations/:id', () => {
  it('shows a member the conversation and hides it from others (404)', async () => {
    const g = await createGroup(app, alice, [bob]);
    expect((await call(app, bob, 'GET', `/conversations/${g.id}`)).json().data.id).toBe(g.id);
    const outsider = await call(app, carol, 'GET', `/conversations/${g.id}`);
    expect(outsider.statusCode).toBe(404);
    expect(outsider.json().error.code).toBe('not_found');
    expect((await call(app, alice, 'GET', '/conversations/nope')).statusCode).toBe(400);
  });
});

describe('PATCH /conversations/:id', () => {
  it('renames a group (admin): a conversation.updated event and a system message', async () => {
    const g = await createGroup(app, alice, [bob], { name: 'Old' });
    const res = await call(app, alice, 'PATCH', `/conversations/${g.id}`, {
      name: 'New',
      avatar_url: 'https://x/a.png',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({ name: 'New', avatar_url: 'https://x/a.png', last_seq: 2 });
    expect(res.json().data.last_message).toMatchObject({
      type: 'system',
      seq: 2,
      metadata: { action: 'group_renamed', name: 'New', old_name: 'Old' },
    });
    const unchanged = await call(app, alice, 'PATCH', `/conversations/${g.id}`, { name: 'New' });
    expect(unchanged.json().data.last_seq).toBe(2);
  });

  it('403 admin_required for members, 404 for outsiders, 422 not_a_group for DMs, 400 for empty bodies', async () => {
    const g = await createGroup(app, alice, [bob]);
    const member = await call(app, bob, 'PATCH', `/conversations/${g.id}`, { name: 'x' });
    expect(member.statusCode).toBe(403);
    expect(member.json().error.code).toBe('admin_required');
    expect((await call(app, carol, 'PATCH', `/conversations/${g.id}`, { name: 'x' })).statusCode).toBe(404);
    const dm = await createDm(app, alice, carol);
    const notGroup = await call(app, alice, 'PATCH', `/conversations/${dm.id}`, { name: 'x' });
    expect(notGroup.statusCode).toBe(422);
    expect(notGroup.json().error.code).toBe('not_a_group');
    expect((await call(app, alice, 'PATCH', `/conversations/${g.id}`, {})).statusCode).toBe(400);
    const blank = await call(app, alice, 'PATCH', `/conversations/${g.id}`, { name: '   ' });
    expect(blank.statusCode).toBe(400);
    expect(blank.json().error.details.field).toBe('name');
  });
});

describe('members', () => {
  it('adds members (admin) with joined_seq, a member.added event and a system message', async () => {
    const g = await createGroup(app, alice, [bob]);
    await sendMessage(app, bob, g.id, 'before carol');
    const res = await call(app, alice, 'POST', `/conversations/${g.id}/members`, {
      member_ids: [carol.user.id, bob.user.id],
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data.members).toHaveLength(3);
    expect(res.json().data.last_seq).toBe(3);
    const row = await app.tma.db
      .selectFrom('conversation_members')
      .selectAll()
      .where('conversation_id', '=', g.id)
      .where('user_id', '=', carol.user.id)
      .executeTakeFirstOrThrow();
    expect(Number(row.joined_seq)).toBe(2);
    // Carol sees the whole history, but only what came after she joined counts as unread.
    const view = (await call(app, carol, 'GET', `/conversations/${g.id}`)).json().data;
    expect(view.unread_count).toBe(1);
    const history = (await call(app, carol, 'GET', `/conversations/${g.id}/messages`)).json().data;
    expect(history.map((m: { seq: number }) => m.seq)).toEqual([3, 1]);
    const again = await call(app, alice, 'POST', `/conversations/${g.id}/members`, {
      member_ids: [carol.user.id],
    });
    expect(again.json().data.last_seq).toBe(3);
  });

  it('enforces admin rights, membership, blocks, the cap and the body', async () => {
    const g = await createGroup(app, alice, [bob]);
    const member = await call(app, bob, 'POST', `/conversations/${g.id}/members`, {
      member_ids: [carol.user.id],
    });
    expect(member.statusCode).toBe(403);
    expect(
      (await call(app, carol, 'POST', `/conversations/${g.id}/members`, { member_ids: [dave.user.id] }))
        .statusCode,
    ).toBe(404);
    const blocker = await createUser(app);
    await app.tma.db
      .insertInto('user_blocks')
      .values({ blocker_id: blocker.user.id, blocked_id: alice.user.id })
      .execute();
    const blocked = await call(app, alice, 'POST', `/conversations/${g.id}/members`, {
      member_ids: [blocker.user.id],
    });
    expect(blocked.statusCode).toBe(403);
    expect(blocked.json().error.code).toBe('blocked');
    const extra = await Promise.all([createUser(app), createUser(app), createUser(app), createUser(app)]);
    const tooMany = await call(app, alice, 'POST', `/conversations/${g.id}/members`, {
      member_ids: extra.map((u) => u.user.id),
    });
    expect(tooMany.statusCode).toBe(422);
    expect(tooMany.json().error.code).toBe('group_too_large');
    const empty = await call(app, alice, 'POST', `/conversations/${g.id}/members`, { member_ids: [] });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.details.field).toBe('member_ids');
  });

  it('changes roles (admin) and keeps at least one admin', async () => {
    const g = await createGroup(app, alice, [bob, carol]);
    const promote = await call(app, alice, 'PATCH', `/conversations/${g.id}/members/${bob.user.id}`, {
      role: 'admin',
    });
    expect(promote.statusCode).toBe(200);
    expect(promote.json().data.members.find((m: { user_id: string }) => m.user_id === bob.user.id).role).toBe(
      'admin',
    );
    const byMember = await call(app, carol, 'PATCH', `/conversations/${g.id}/members/${bob.user.id}`, {
      role: 'member',
    });
    expect(byMember.statusCode).toBe(403);
    await call(app, bob, 'PATCH', `/conversations/${g.id}/members/${alice.user.id}`, { role: 'member' });
    const last = await call(app, bob, 'PATCH', `/conversations/${g.id}/members/${bob.user.id}`, {
      role: 'member',
    });
    expect(last.statusCode).toBe(422);
    expect(last.json().error.code).toBe('last_admin');
    const notMember = await call(app, bob, 'PATCH', `/conversations/${g.id}/members/${dave.user.id}`, {
      role: 'admin',
    });
    expect(notMember.statusCode).toBe(404);
    const bad = await call(app, bob, 'PATCH', `/conversations/${g.id}/members/${alice.user.id}`, {
      role: 'owner',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.field).toBe('role');
  });

  it('removes a member (admin); the removed user loses access; members cannot remove others', async () => {
    const g = await createGroup(app, alice, [bob, carol]);
    const byMember = await call(app, bob, 'DELETE', `/conversations/${g.id}/members/${carol.user.id}`);
    expect(byMember.statusCode).toBe(403);
    const res = await call(app, alice, 'DELETE', `/conversations/${g.id}/members/${carol.user.id}`);
    expect(res.statusCode).toBe(200);
    expect((await call(app, carol, 'GET', `/conversations/${g.id}`)).statusCode).toBe(404);
    const twice = await call(app, alice, 'DELETE', `/conversations/${g.id}/members/${carol.user.id}`);
    expect(twice.statusCode).toBe(404);
    const last = (await call(app, alice, 'GET', `/conversations/${g.id}`)).json().data.last_message;
    expect(last).toMatchObject({
      type: 'system',
      metadata: { action: 'member_removed', user_id: carol.user.id },
    });
    // Added back: the row is kept, left_at cleared.
    const back = await call(app, alice, 'POST', `/conversations/${g.id}/members`, {
      member_ids: [carol.user.id],
    });
    expect(back.json().data.members).toHaveLength(3);
    expect((await call(app, carol, 'GET', `/conversations/${g.id}`)).statusCode).toBe(200);
  });

  it('the last admin leaving hands admin to the longest-standing member', async () => {
    const g = await createGroup(app, alice, [bob]);
    await call(app, alice, 'POST', `/conversations/${g.id}/members`, { member_ids: [carol.user.id] });
    const res = await call(app, alice, 'DELETE', `/conversations/${g.id}/members/${alice.user.id}`);
    expect(res.statusCode).toBe(200);
    const view = (await call(app, bob, 'GET', `/conversations/${g.id}`)).json().data;
    const roles = Object.fromEntries(
      view.members.map((m: { user_id: string; role: string }) => [m.user_id, m.role]),
    );
    expect(roles).toEqual({ [bob.user.id]: 'admin', [carol.user.id]: 'member' });
    const types = (await call(app, bob, 'GET', `/conversations/${g.id}/events?after_seq=0`))
      .json()
      .data.map((e: { type: string }) => e.type);
    expect(types.slice(-3)).toEqual(['member.removed', 'message.created', 'member.updated']);
  });

  it('DMs cannot be left (422 not_a_group)', async () => {
    const dm = await createDm(app, bob, carol);
    const res = await call(app, bob, 'DELETE', `/conversations/${dm.id}/members/${bob.user.id}`);
    expect(res.statusCode).toBe(422);
  });
});

describe('PUT /conversations/:id/mute', () => {
  it('mutes until a time, forever, and unmutes', async () => {
    const g = await createGroup(app, alice, [bob]);
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const timed = await call(app, bob, 'PUT', `/conversations/${g.id}/mute`, { muted_until: until });
    expect(timed.statusCode).toBe(200);
    expect(timed.json().data.muted_until).toBe(until);
    expect((await call(app, bob, 'GET', `/conversations/${g.id}`)).json().data.muted_until).toBe(until);
    const forever = await call(app, bob, 'PUT', `/conversations/${g.id}/mute`, { forever: true });
    expect(forever.json().data.muted_until).toBe('9999-12-31T23:59:59.000Z');
    const off = await call(app, bob, 'PUT', `/conversations/${g.id}/mute`, { muted_until: null });
    expect(off.json().data.muted_until).toBeNull();
    // Mute is personal.
    expect((await call(app, alice, 'GET', `/conversations/${g.id}`)).json().data.muted_until).toBeNull();
  });

  it('refuses a past time (422), a malformed time (400) and outsiders (404)', async () => {
    const g = await createGroup(app, alice, [bob]);
    const past = await call(app, bob, 'PUT', `/conversations/${g.id}/mute`, {
      muted_until: '2001-01-01T00:00:00Z',
    });
    expect(past.statusCode).toBe(422);
    const bad = await call(app, bob, 'PUT', `/conversations/${g.id}/mute`, { muted_until: 'tomorrow' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.field).toBe('muted_until');
    expect((await call(app, carol, 'PUT', `/conversations/${g.id}/mute`, { forever: true })).statusCode).toBe(
      404,
    );
  });
});
