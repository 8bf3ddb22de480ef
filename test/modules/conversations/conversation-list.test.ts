// GET /conversations and /conversations/:id: every field of every item against views rebuilt from the tables.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
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
  app = await buildTestApp();
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

const react = (user: TestUser, messageId: string, emoji: string) =>
  call(app, user, 'PUT', `/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`);

/** The conversation as `viewer` should see it, read straight from the tables (and the message view of GET /messages). */
async function expectedView(viewer: TestUser, conversationId: string) {
  const { db } = app.tma;
  const c = await db
    .selectFrom('conversations')
    .selectAll()
    .where('id', '=', conversationId)
    .executeTakeFirstOrThrow();
  const me = await db
    .selectFrom('conversation_members')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .where('user_id', '=', viewer.user.id)
    .executeTakeFirstOrThrow();
  const members = await db
    .selectFrom('conversation_members')
    .select(['user_id', 'role', 'joined_at'])
    .where('conversation_id', '=', conversationId)
    .where('left_at', 'is', null)
    .orderBy('joined_at')
    .orderBy('user_id')
    .execute();
  const messages = await db
    .selectFrom('messages')
    .select(['id', 'seq', 'sender_id', 'deleted_at'])
    .where('conversation_id', '=', conversationId)
    .orderBy('seq', 'desc')
    .execute();
  const newest = messages[0];
  const lastMessage = newest
    ? await app.tma.services.conversations.messages.viewById(newest.id, viewer.user.id)
    : null;
  return {
    id: c.id,
    type: c.type,
    name: c.name,
    description: c.description,
    avatar_url: c.avatar_url,
    created_by: c.created_by,
    last_seq: Number(c.last_seq),
    last_message: lastMessage,
    unread_count: messages.filter(
      (m) => Number(m.seq) > Number(me.read_seq) && m.deleted_at === null && m.sender_id !== viewer.user.id,
    ).length,
    muted_until: me.muted_until ? me.muted_until.toISOString() : null,
    my_role: me.role,
    delivered_seq: Number(me.delivered_seq),
    read_seq: Number(me.read_seq),
    members: members.map((m) => ({ user_id: m.user_id, role: m.role, joined_at: m.joined_at.toISOString() })),
    created_at: c.created_at.toISOString(),
    updated_at: c.updated_at.toISOString(),
  };
}

async function listAll(user: TestUser, limit: number): Promise<Array<{ id: string }>> {
  const items: Array<{ id: string }> = [];
  let cursor: string | null = null;
  for (let page = 0; page < 50; page++) {
    const res = await call(
      app,
      user,
      'GET',
      `/conversations?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.data.length).toBeLessThanOrEqual(limit);
    items.push(...body.data);
    cursor = body.pagination.next_cursor;
    expect(body.pagination.has_more).toBe(cursor !== null);
    if (!cursor) return items;
  }
  throw new Error('the list did not end');
}

describe('GET /conversations: what each item shows', () => {
  it('matches the tables for every viewer: unread counts, last message, members, receipts, mute', async () => {
    const [a, b, c, d] = await Promise.all([
      createUser(app),
      createUser(app),
      createUser(app),
      createUser(app),
    ]);
    // A group with history: own, others', deleted and system messages, reactions, a member who left.
    const g = await createGroup(app, a, [b, c, d], { name: 'busy' });
    const m1 = await sendMessage(app, a, g.id, 'one');
    await sendMessage(app, b, g.id, 'two');
    const m3 = await sendMessage(app, c, g.id, 'three, deleted');
    await sendMessage(app, c, g.id, 'four');
    expect((await call(app, c, 'DELETE', `/messages/${m3.id}`)).statusCode).toBe(200);
    expect((await call(app, d, 'DELETE', `/conversations/${g.id}/members/${d.user.id}`)).statusCode).toBe(
      200,
    );
    expect((await call(app, a, 'PATCH', `/conversations/${g.id}`, { name: 'renamed' })).statusCode).toBe(200);
    const last = await app.tma.db
      .selectFrom('messages')
      .select(['id', 'type'])
      .where('conversation_id', '=', g.id)
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    expect(last.type).toBe('system');
    await react(b, last.id, '👍');
    await react(c, last.id, '🎉');
    await react(c, last.id, '👍');
    await call(app, b, 'POST', `/conversations/${g.id}/read`, { seq: m1.seq });
    await call(app, c, 'POST', `/conversations/${g.id}/delivered`, { seq: m3.seq });
    await call(app, b, 'PUT', `/conversations/${g.id}/mute`, { muted_until: '2999-01-02T03:04:05.678Z' });
    await call(app, c, 'PUT', `/conversations/${g.id}/mute`, { forever: true });

    // A group whose newest message is a tombstone, a DM without messages, a group with one message.
    const tomb = await createGroup(app, b, [a], { name: 'tomb' });
    await sendMessage(app, a, tomb.id, 'kept');
    const gone = await sendMessage(app, b, tomb.id, 'gone');
    await react(a, gone.id, '👀');
    await call(app, b, 'DELETE', `/messages/${gone.id}`);
    const dm = await createDm(app, a, c);
    const quiet = await createGroup(app, c, [a, b], { name: 'quiet' });
    await sendMessage(app, c, quiet.id, 'hi');

    for (const [viewer, expectedIds] of [
      [a, [quiet.id, dm.id, tomb.id, g.id]],
      [b, [quiet.id, tomb.id, g.id]],
      [c, [quiet.id, dm.id, g.id]],
      [d, []],
    ] as const) {
      const res = await call(app, viewer, 'GET', '/conversations');
      expect(res.statusCode).toBe(200);
      const items = res.json().data as Array<{ id: string }>;
      expect(items.map((i) => i.id)).toEqual(expectedIds);
      for (const item of items) {
        const expected = await expectedView(viewer, item.id);
        expect(item).toEqual(expected);
        const one = await call(app, viewer, 'GET', `/conversations/${item.id}`);
        expect(one.json().data).toEqual(expected);
      }
    }

    // Spot checks, so the reference above cannot drift with the code it checks.
    const forB = (await call(app, b, 'GET', `/conversations/${g.id}`)).json().data;
    expect(forB.name).toBe('renamed');
    expect(forB.unread_count).toBe(3); // four, d leaving, the rename; not one (read), two (own), three (deleted)
    expect(forB.last_message).toMatchObject({ id: last.id, type: 'system', sender_id: a.user.id });
    expect(forB.last_message.reactions).toEqual([
      { emoji: '👍', count: 2, me: true },
      { emoji: '🎉', count: 1, me: false },
    ]);
    expect(forB.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual(
      [a.user.id, b.user.id, c.user.id].sort(),
    );
    expect(forB.muted_until).toBe('2999-01-02T03:04:05.678Z');
    expect(forB).toMatchObject({ read_seq: m1.seq, delivered_seq: m1.seq, my_role: 'member' });
    const forC = (await call(app, c, 'GET', `/conversations/${g.id}`)).json().data;
    expect(forC.unread_count).toBe(4); // one, two, d leaving, the rename (delivered is not read)
    expect(forC.muted_until).toBe('9999-12-31T23:59:59.000Z');
    expect(forC.last_message.reactions).toEqual([
      { emoji: '👍', count: 2, me: true },
      { emoji: '🎉', count: 1, me: true },
    ]);
    const tombForA = (await call(app, a, 'GET', `/conversations/${tomb.id}`)).json().data;
    expect(tombForA.last_message).toMatchObject({ id: gone.id, content: null, metadata: {}, reactions: [] });
    expect(tombForA.last_message.deleted_at).not.toBeNull();
    expect(tombForA.unread_count).toBe(0);
    const dmForC = (await call(app, c, 'GET', `/conversations/${dm.id}`)).json().data;
    expect(dmForC).toMatchObject({ type: 'dm', last_message: null, unread_count: 0, last_seq: 0 });
    expect((await call(app, d, 'GET', `/conversations/${g.id}`)).statusCode).toBe(404);
  });

  it('writes member join times as Date#toISOString() does, whatever their microseconds', async () => {
    const g = await createGroup(app, alice, [bob, carol, dave], { name: 'times' });
    const times: Record<string, string> = {
      [alice.user.id]: '2026-01-02 03:04:05.999999+00',
      [bob.user.id]: '2026-01-02 03:04:05.0005+00',
      [carol.user.id]: '1969-12-31 23:59:59.999500+00',
      [dave.user.id]: '2026-06-30 23:59:59.123+05:30',
    };
    for (const [userId, at] of Object.entries(times)) {
      await app.tma.db
        .updateTable('conversation_members')
        .set({ joined_at: sql<Date>`${at}::timestamptz` })
        .where('conversation_id', '=', g.id)
        .where('user_id', '=', userId)
        .execute();
    }
    const members = (await call(app, alice, 'GET', `/conversations/${g.id}`)).json().data.members;
    expect(members).toEqual([
      { user_id: carol.user.id, role: 'member', joined_at: '1969-12-31T23:59:59.999Z' },
      { user_id: bob.user.id, role: 'member', joined_at: '2026-01-02T03:04:05.000Z' },
      { user_id: alice.user.id, role: 'admin', joined_at: '2026-01-02T03:04:05.999Z' },
      { user_id: dave.user.id, role: 'member', joined_at: '2026-06-30T18:29:59.123Z' },
    ]);
    expect((await call(app, alice, 'GET', '/conversations')).json().data[0]).toEqual(
      await expectedView(alice, g.id),
    );
  });
});

describe('GET /conversations: order and pages', () => {
  it('pages through equal activity times by id, without gaps or repeats, at any page size', async () => {
    const u = await createUser(app);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await createGroup(app, u, [bob], { name: `p${i}` })).id);
    // Four share one activity time (ties broken by id, descending), one is older, two newer.
    const at = (iso: string) => sql<Date>`${iso}::timestamptz`;
    for (const [i, when] of [
      [0, '2030-01-01 00:00:00.000001+00'],
      [1, '2030-01-01 00:00:00.000001+00'],
      [2, '2030-01-01 00:00:00.000001+00'],
      [3, '2030-01-01 00:00:00.000001+00'],
      [4, '2029-12-31 00:00:00+00'],
      [5, '2030-01-01 00:00:00.000002+00'],
      [6, '2031-01-01 00:00:00+00'],
    ] as const) {
      await app.tma.db
        .updateTable('conversations')
        .set({ last_message_at: at(when) })
        .where('id', '=', ids[i] as string)
        .execute();
    }
    const tied = [ids[0], ids[1], ids[2], ids[3]].sort().reverse();
    const expected = [ids[6], ids[5], ...tied, ids[4]];
    const full = await listAll(u, 100);
    expect(full.map((c) => c.id)).toEqual(expected);
    for (const limit of [1, 2, 3, 6, 7]) {
      const paged = await listAll(u, limit);
      expect(paged.map((c) => c.id)).toEqual(expected);
      expect(paged).toEqual(full);
    }
  });

  it('leaves out conversations the caller left and shows the ones they came back to', async () => {
    const u = await createUser(app);
    const g = await createGroup(app, alice, [u], { name: 'comeback' });
    await call(app, u, 'DELETE', `/conversations/${g.id}/members/${u.user.id}`);
    expect((await call(app, u, 'GET', '/conversations')).json().data).toEqual([]);
    await call(app, alice, 'POST', `/conversations/${g.id}/members`, { member_ids: [u.user.id] });
    const items = (await call(app, u, 'GET', '/conversations')).json().data;
    expect(items.map((c: { id: string }) => c.id)).toEqual([g.id]);
    expect(items[0]).toEqual(await expectedView(u, g.id));
  });

  it('answers a page of any size with one SQL statement', async () => {
    const u = await createUser(app);
    for (let i = 0; i < 12; i++) {
      const g = await createGroup(app, u, [bob, carol], { name: `q${i}` });
      await sendMessage(app, bob, g.id, 'x');
    }
    for (const url of ['/conversations?limit=100', '/conversations?limit=5']) {
      const queries = await countQueries(app, async () => {
        expect((await call(app, u, 'GET', url)).statusCode).toBe(200);
      });
      expect(queries).toBe(1);
    }
  });
});
