// GET /search/messages, /search/users and /search/conversations.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SearchRepository } from '../../../src/modules/search/search.repository.js';
import { wantsPrefix } from '../../../src/modules/search/search.service.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser, type TestUser } from '../../helpers/factories.js';
import { seedConversation, seedMessage } from './seed.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let team: string;
let secret: string;
let dm: string;

async function search(user: TestUser, query: Record<string, string | number>) {
  const qs = new URLSearchParams(
    Object.entries(query).map(([k, v]) => [k, String(v)] as [string, string]),
  ).toString();
  return app.inject({ method: 'GET', url: `/api/v1/search/messages?${qs}`, headers: user.headers });
}

async function contents(user: TestUser, q: string, extra: Record<string, string> = {}): Promise<string[]> {
  const res = await search(user, { q, ...extra });
  expect(res.statusCode).toBe(200);
  return res.json().data.map((hit: { message: { content: string } }) => hit.message.content);
}

beforeAll(async () => {
  app = await buildTestApp();
  alice = await createUser(app, { username: 'alice_search', displayName: 'Alice Liddell' });
  bob = await createUser(app, { username: 'bob_search', displayName: 'Bob Builder' });
  carol = await createUser(app, { username: 'carol_search', displayName: 'Carol Danvers' });
  team = await seedConversation(app, {
    name: 'Release team',
    members: [{ userId: alice.user.id, role: 'admin' }, { userId: bob.user.id }],
  });
  secret = await seedConversation(app, {
    name: 'Secret plans',
    members: [{ userId: bob.user.id, role: 'admin' }, { userId: carol.user.id }],
  });
  dm = await seedConversation(app, {
    type: 'dm',
    members: [{ userId: alice.user.id }, { userId: carol.user.id }],
  });
  await seedMessage(app, team, alice.user.id, 'The quick brown fox jumps over the lazy dog');
  await seedMessage(app, team, bob.user.id, 'A brown quick fox is not the same phrase');
  await seedMessage(app, team, bob.user.id, 'We deploy the release tonight');
  await seedMessage(app, team, alice.user.id, 'Cats are great');
  await seedMessage(app, team, alice.user.id, 'Dogs are loyal');
  await seedMessage(app, team, bob.user.id, 'This forgotten message was deleted', { deleted: true });
  await seedMessage(app, team, bob.user.id, '<script>alert("x")</script> snippet escaping');
  await seedMessage(app, team, bob.user.id, 'compare 1 < 2 & 3 > 2 "quoted" snippetized');
  await seedMessage(app, secret, bob.user.id, 'The secret quick launch code');
  await seedMessage(app, dm, carol.user.id, 'Privately quick hello from carol');
});
afterAll(async () => {
  await app.close();
});

describe('GET /search/messages', () => {
  it("finds words in the caller's conversations, highlighted", async () => {
    const res = await search(alice, { q: 'lazy' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.success).toBe(true);
    expect(body.data).toHaveLength(1);
    expect(body.data[0].message.content).toBe('The quick brown fox jumps over the lazy dog');
    expect(body.data[0].message.conversation_id).toBe(team);
    expect(body.data[0].message.reactions).toEqual([]);
    expect(body.data[0].highlight).toContain('<mark>lazy</mark>');
    expect(body.pagination).toEqual({ next_cursor: null, has_more: false });
  });

  it('matches case-insensitively and across every conversation the caller is in', async () => {
    const found = await contents(alice, 'QUICK');
    expect(found).toEqual(
      expect.arrayContaining([
        'The quick brown fox jumps over the lazy dog',
        'A brown quick fox is not the same phrase',
        'Privately quick hello from carol',
      ]),
    );
    expect(found).toHaveLength(3);
    expect(found).not.toContain('The secret quick launch code');
  });

  it('returns newest first', async () => {
    const found = await contents(alice, 'quick');
    expect(found[0]).toBe('Privately quick hello from carol');
  });

  it('matches phrases exactly', async () => {
    expect(await contents(alice, '"quick brown fox"')).toEqual([
      'The quick brown fox jumps over the lazy dog',
    ]);
  });

  it('supports OR and -not', async () => {
    expect((await contents(alice, 'cats OR dogs')).sort()).toEqual(['Cats are great', 'Dogs are loyal']);
    expect(await contents(alice, 'fox -lazy')).toEqual(['A brown quick fox is not the same phrase']);
  });

  it('matches the last word as a prefix', async () => {
    expect(await contents(alice, 'depl')).toEqual(['We deploy the release tonight']);
    expect(await contents(alice, 'release ton')).toEqual(['We deploy the release tonight']);
    // A negated or quoted last word is not a prefix.
    expect(await contents(alice, '"depl"')).toEqual([]);
  });

  it('never finds messages of conversations the caller is not in', async () => {
    expect(await contents(alice, 'secret')).toEqual([]);
    expect(await contents(bob, 'secret')).toEqual(['The secret quick launch code']);
  });

  it('never finds deleted messages', async () => {
    expect(await contents(alice, 'forgotten')).toEqual([]);
    expect(await contents(bob, 'forgotten')).toEqual([]);
  });

  it('never finds messages in a conversation the caller left', async () => {
    const dave = await createUser(app);
    const old = await seedConversation(app, {
      name: 'Old project',
      members: [{ userId: dave.user.id }, { userId: alice.user.id, left: true }],
    });
    await seedMessage(app, old, dave.user.id, 'zebrafish archive');
    expect(await contents(alice, 'zebrafish')).toEqual([]);
    expect(await contents(dave, 'zebrafish')).toEqual(['zebrafish archive']);
  });

  it('never finds messages from before the caller joined', async () => {
    const erin = await createUser(app);
    const frank = await createUser(app);
    const room = await seedConversation(app, { name: 'History', members: [{ userId: erin.user.id }] });
    const before = await seedMessage(app, room, erin.user.id, 'walrus before frank joined');
    await app.tma.db
      .insertInto('conversation_members')
      .values({ conversation_id: room, user_id: frank.user.id, joined_seq: before.seq })
      .execute();
    await seedMessage(app, room, erin.user.id, 'walrus after frank joined');
    expect(await contents(frank, 'walrus')).toEqual(['walrus after frank joined']);
    expect(await contents(erin, 'walrus')).toHaveLength(2);
  });

  it('escapes HTML in snippets and marks only the matches', async () => {
    const res = await search(alice, { q: 'snippet' });
    const [symbols, tags] = res.json().data;
    expect(symbols.highlight).toBe(
      'compare 1 &lt; 2 &amp; 3 &gt; 2 &quot;quoted&quot; <mark>snippetized</mark>',
    );
    expect(tags.highlight).not.toContain('<script>');
    expect(tags.highlight).toContain('<mark>snippet</mark> escaping');
  });

  it('filters by conversation, sender, type and date range', async () => {
    expect(await contents(alice, 'quick', { conversation_id: dm })).toEqual([
      'Privately quick hello from carol',
    ]);
    expect(await contents(alice, 'quick', { sender_id: bob.user.id })).toEqual([
      'A brown quick fox is not the same phrase',
    ]);
    expect(await contents(alice, 'quick', { type: 'image' })).toEqual([]);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const past = new Date(Date.now() - 3_600_000).toISOString();
    expect(await contents(alice, 'quick', { from: future })).toEqual([]);
    expect(await contents(alice, 'quick', { to: past })).toEqual([]);
    expect(await contents(alice, 'quick', { from: past, to: future })).toHaveLength(3);
  });

  it('pages with an opaque cursor, without duplicates', async () => {
    const gina = await createUser(app);
    const room = await seedConversation(app, { name: 'Paging', members: [{ userId: gina.user.id }] });
    for (let i = 0; i < 5; i++) await seedMessage(app, room, gina.user.id, `pelican number ${i}`);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await search(gina, { q: 'pelican', limit: 2, ...(cursor ? { cursor } : {}) });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      seen.push(...body.data.map((h: { message: { content: string } }) => h.message.content));
      cursor = body.pagination.next_cursor;
      expect(body.pagination.has_more).toBe(cursor !== null);
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([4, 3, 2, 1, 0].map((i) => `pelican number ${i}`));
  });

  it('answers 404 when filtering by a conversation the caller is not in', async () => {
    const res = await search(alice, { q: 'secret', conversation_id: secret });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });

  it('answers 400 to missing, blank, oversized or malformed input', async () => {
    const cases: Array<Record<string, string>> = [
      {},
      { q: '   ' },
      { q: 'x'.repeat(201) },
      { q: 'fox', conversation_id: 'not-a-uuid' },
      { q: 'fox', type: 'video' },
      { q: 'fox', from: 'yesterday' },
      { q: 'fox', limit: '101' },
      { q: 'fox', cursor: 'garbage' },
      { q: 'fox', from: '2030-01-01T00:00:00Z', to: '2020-01-01T00:00:00Z' },
      { q: 'fox', unknown: '1' },
    ];
    for (const query of cases) {
      const res = await search(alice, query);
      expect(res.statusCode, JSON.stringify(query)).toBe(400);
      expect(res.json().error.code).toBe('validation_error');
    }
  });

  it('finds nothing (rather than failing) for queries without searchable words', async () => {
    expect(await contents(alice, '!!! ???')).toEqual([]);
    expect(await contents(alice, '-fox')).toEqual([]);
  });

  it('requires authentication', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/search/messages?q=fox' });
    expect(res.statusCode).toBe(401);
  });
});

describe('GET /search/users', () => {
  it('finds people by username and display name', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1/search/users?q=builder',
      headers: alice.headers,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data.map((u: { username: string }) => u.username)).toContain('bob_search');
    const byName = await app.inject({
      method: 'GET',
      url: '/api/v1/search/users?q=carol_se',
      headers: alice.headers,
    });
    expect(byName.json().data[0].username).toBe('carol_search');
  });

  it('answers 400 to blank or oversized queries and 401 without a token', async () => {
    for (const q of ['', '%20%20', 'x'.repeat(101)]) {
      const res = await app.inject({
        method: 'GET',
        url: `/api/v1/search/users?q=${q}`,
        headers: alice.headers,
      });
      expect(res.statusCode).toBe(400);
    }
    const anon = await app.inject({ method: 'GET', url: '/api/v1/search/users?q=bob' });
    expect(anon.statusCode).toBe(401);
  });
});

describe('GET /search/conversations', () => {
  async function conversations(user: TestUser, q: string) {
    const res = await app.inject({
      method: 'GET',
      url: `/api/v1/search/conversations?q=${encodeURIComponent(q)}`,
      headers: user.headers,
    });
    expect(res.statusCode).toBe(200);
    return res.json().data as Array<{
      id: string;
      type: string;
      name: string | null;
      partner: { id: string } | null;
    }>;
  }

  it("finds the caller's groups by name", async () => {
    const hits = await conversations(alice, 'release');
    expect(hits.map((h) => h.id)).toEqual([team]);
    expect(hits[0]?.type).toBe('group');
    expect(hits[0]?.partner).toBeNull();
  });

  it("finds DMs by the partner's display name or username", async () => {
    const byDisplay = await conversations(alice, 'danvers');
    expect(byDisplay.map((h) => h.id)).toEqual([dm]);
    expect(byDisplay[0]?.partner?.id).toBe(carol.user.id);
    expect((await conversations(alice, 'carol_sea')).map((h) => h.id)).toEqual([dm]);
    // The caller's own name does not match their DMs.
    expect(await conversations(alice, 'liddell')).toEqual([]);
  });

  it('never returns conversations the caller is not in', async () => {
    expect(await conversations(alice, 'secret')).toEqual([]);
    expect((await conversations(bob, 'secret')).map((h) => h.id)).toEqual([secret]);
  });

  it('pages with a cursor', async () => {
    const hank = await createUser(app);
    for (let i = 0; i < 3; i++) {
      await seedConversation(app, { name: `Kayak club ${i}`, members: [{ userId: hank.user.id }] });
    }
    const first = await app.inject({
      method: 'GET',
      url: '/api/v1/search/conversations?q=kayak&limit=2',
      headers: hank.headers,
    });
    const body = first.json();
    expect(body.data).toHaveLength(2);
    expect(body.pagination.has_more).toBe(true);
    const second = await app.inject({
      method: 'GET',
      url: `/api/v1/search/conversations?q=kayak&limit=2&cursor=${body.pagination.next_cursor}`,
      headers: hank.headers,
    });
    expect(second.json().data).toHaveLength(1);
    expect(second.json().pagination.has_more).toBe(false);
  });

  it('answers 400 to blank queries and bad cursors', async () => {
    for (const url of ['/api/v1/search/conversations?q=%20', '/api/v1/search/conversations?q=a&cursor=zz']) {
      const res = await app.inject({ method: 'GET', url, headers: alice.headers });
      expect(res.statusCode).toBe(400);
    }
  });
});

describe('search over the messaging API', () => {
  it('finds sent messages, and stops finding them once deleted or once the caller left', async () => {
    const owner = await createUser(app);
    const guest = await createUser(app);
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/conversations',
      headers: owner.headers,
      payload: { type: 'group', name: 'Api group', member_ids: [guest.user.id] },
    });
    expect(created.statusCode).toBe(201);
    const conversationId = created.json().data.id;
    const sent = await app.inject({
      method: 'POST',
      url: `/api/v1/conversations/${conversationId}/messages`,
      headers: owner.headers,
      payload: { content: 'albatross sighting at noon' },
    });
    expect(sent.statusCode).toBe(201);
    await app.inject({
      method: 'POST',
      url: `/api/v1/conversations/${conversationId}/messages`,
      headers: owner.headers,
      payload: { content: 'albatross left the harbour' },
    });
    expect(await contents(guest, 'albatross')).toHaveLength(2);

    const deleted = await app.inject({
      method: 'DELETE',
      url: `/api/v1/messages/${sent.json().data.id}`,
      headers: owner.headers,
    });
    expect(deleted.statusCode).toBeLessThan(300);
    expect(await contents(guest, 'albatross')).toEqual(['albatross left the harbour']);

    const left = await app.inject({
      method: 'DELETE',
      url: `/api/v1/conversations/${conversationId}/members/${guest.user.id}`,
      headers: guest.headers,
    });
    expect(left.statusCode).toBeLessThan(300);
    expect(await contents(guest, 'albatross')).toEqual([]);
    expect(await contents(owner, 'albatross')).toEqual(['albatross left the harbour']);
  });

  it('hides history from before a member was added through the API, and shows what came after', async () => {
    const owner = await createUser(app);
    const late = await createUser(app);
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/conversations',
      headers: owner.headers,
      payload: { type: 'group', name: 'Late joiners', member_ids: [] },
    });
    expect(created.statusCode).toBe(201);
    const conversationId = created.json().data.id;
    const send = (content: string) =>
      app.inject({
        method: 'POST',
        url: `/api/v1/conversations/${conversationId}/messages`,
        headers: owner.headers,
        payload: { content },
      });
    expect((await send('flamingo before the join')).statusCode).toBe(201);
    const added = await app.inject({
      method: 'POST',
      url: `/api/v1/conversations/${conversationId}/members`,
      headers: owner.headers,
      payload: { member_ids: [late.user.id] },
    });
    expect(added.statusCode).toBeLessThan(300);
    expect(await contents(late, 'flamingo')).toEqual([]);
    expect((await send('flamingo after the join')).statusCode).toBe(201);
    expect(await contents(late, 'flamingo')).toEqual(['flamingo after the join']);
    expect(await contents(owner, 'flamingo')).toHaveLength(2);
  });

  it('finds the same messages whichever query strategy runs (per-conversation walk or GIN bitmap)', async () => {
    const repo = new SearchRepository(app.tma.db);
    const queries = [
      'quick',
      'qui',
      '"quick brown"',
      'cats OR dogs',
      'fox -lazy',
      'release ton',
      'nothing-at-all',
    ];
    for (const query of queries) {
      for (const [user, extra] of [
        [alice, {}],
        [bob, { senderId: bob.user.id }],
        [alice, { conversationId: team, limit: 2 }],
      ] as const) {
        const base = { userId: user.user.id, query, prefix: wantsPrefix(query), limit: 50, ...extra };
        const recent = await repo.searchMessages({ ...base, strategy: 'recent' });
        const bitmap = await repo.searchMessages({ ...base, strategy: 'bitmap' });
        expect(recent, query).toEqual(bitmap);
      }
    }
    const some = await repo.searchMessages({
      userId: alice.user.id,
      query: 'quick',
      prefix: true,
      limit: 50,
    });
    expect(some.length).toBeGreaterThan(0);
  });
});
