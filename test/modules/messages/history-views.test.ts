// GET /conversations/:id/messages: every field of every message view against the tables, per viewer.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../helpers/app.js';
import { createGroup, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';
import { call, countQueries } from '../conversations/messaging-helpers.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

beforeAll(async () => {
  app = await buildTestApp();
  [alice, bob, carol] = await Promise.all([createUser(app), createUser(app), createUser(app)]);
});
afterAll(async () => {
  await app.close();
});

const react = (user: TestUser, messageId: string, emoji: string) =>
  call(app, user, 'PUT', `/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`);

/** The history as `viewer` should see it, newest first, read straight from the tables. */
async function expectedHistory(viewer: TestUser, conversationId: string) {
  const { db } = app.tma;
  const rows = await db
    .selectFrom('messages')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .orderBy('seq', 'desc')
    .execute();
  const reactions = await db
    .selectFrom('message_reactions')
    .selectAll()
    .where(
      'message_id',
      'in',
      rows.map((r) => r.id),
    )
    .execute();
  return rows.map((r) => {
    const deleted = r.deleted_at !== null;
    const byEmoji = new Map<string, { emoji: string; count: number; me: boolean; first: number }>();
    for (const x of reactions.filter((x) => x.message_id === r.id)) {
      const entry = byEmoji.get(x.emoji) ?? { emoji: x.emoji, count: 0, me: false, first: Infinity };
      entry.count++;
      entry.me ||= x.user_id === viewer.user.id;
      entry.first = Math.min(entry.first, x.created_at.getTime());
      byEmoji.set(x.emoji, entry);
    }
    const summary = [...byEmoji.values()]
      .sort((a, b) => a.first - b.first || (a.emoji < b.emoji ? -1 : a.emoji > b.emoji ? 1 : 0))
      .map(({ emoji, count, me }) => ({ emoji, count, me }));
    return {
      id: r.id,
      conversation_id: r.conversation_id,
      seq: Number(r.seq),
      sender_id: r.sender_id,
      client_id: r.client_id,
      type: r.type,
      content: deleted ? null : r.content,
      metadata: deleted ? {} : r.metadata,
      reply_to_id: r.reply_to_id,
      forwarded_from_id: r.forwarded_from_id,
      created_at: r.created_at.toISOString(),
      edited_at: r.edited_at ? r.edited_at.toISOString() : null,
      deleted_at: r.deleted_at ? r.deleted_at.toISOString() : null,
      reactions: deleted ? [] : summary,
      attachments: [],
    };
  });
}

describe('GET /conversations/:id/messages: what each message shows', () => {
  it('matches the tables for every viewer: content, edits, tombstones, replies, reaction summaries', async () => {
    const g = await createGroup(app, alice, [bob, carol], { name: 'history' });
    const first = await sendMessage(app, alice, g.id, 'first');
    const reply = await sendMessage(app, bob, g.id, { content: 'a reply', reply_to_id: first.id });
    const edited = await sendMessage(app, carol, g.id, 'typo');
    expect((await call(app, carol, 'PATCH', `/messages/${edited.id}`, { content: 'fixed' })).statusCode).toBe(
      200,
    );
    const gone = await sendMessage(app, bob, g.id, 'regret');
    await react(alice, gone.id, '😮');
    expect((await call(app, bob, 'DELETE', `/messages/${gone.id}`)).statusCode).toBe(200);
    await call(app, alice, 'PATCH', `/conversations/${g.id}`, { name: 'history, renamed' });
    // Reactions: the emoji first used comes first; equal first times fall back to the emoji itself.
    await react(bob, first.id, '🎉');
    await react(alice, first.id, '👍');
    await react(carol, first.id, '🎉');
    await react(carol, reply.id, '👍');
    const same = sql<Date>`'2030-01-01 00:00:00+00'::timestamptz`;
    await react(alice, edited.id, '😀');
    await react(bob, edited.id, '😂');
    await app.tma.db
      .updateTable('message_reactions')
      .set({ created_at: same })
      .where('message_id', '=', edited.id)
      .execute();

    for (const viewer of [alice, bob, carol]) {
      const expected = await expectedHistory(viewer, g.id);
      expect(expected).toHaveLength(5);
      const res = await call(app, viewer, 'GET', `/conversations/${g.id}/messages`);
      expect(res.statusCode).toBe(200);
      expect(res.json().data).toEqual(expected);
      for (const message of expected) {
        expect((await call(app, viewer, 'GET', `/messages/${message.id}`)).json().data).toEqual(message);
      }
    }

    // Spot checks, so the reference above cannot drift with the code it checks.
    const forCarol = (await call(app, carol, 'GET', `/conversations/${g.id}/messages`)).json().data;
    const byId = new Map(forCarol.map((m: { id: string }) => [m.id, m]));
    expect(byId.get(first.id)).toMatchObject({
      content: 'first',
      reactions: [
        { emoji: '🎉', count: 2, me: true },
        { emoji: '👍', count: 1, me: false },
      ],
    });
    expect(byId.get(reply.id)).toMatchObject({
      reply_to_id: first.id,
      reactions: [{ emoji: '👍', count: 1, me: true }],
    });
    expect(byId.get(edited.id)).toMatchObject({
      content: 'fixed',
      reactions: [
        { emoji: '😀', count: 1, me: false },
        { emoji: '😂', count: 1, me: false },
      ],
    });
    expect((byId.get(edited.id) as { edited_at: string | null }).edited_at).not.toBeNull();
    expect(byId.get(gone.id)).toMatchObject({ content: null, metadata: {}, reactions: [] });
    expect(Object.keys(forCarol[0]).sort()).toEqual(
      [
        'id',
        'conversation_id',
        'seq',
        'sender_id',
        'client_id',
        'type',
        'content',
        'metadata',
        'reply_to_id',
        'forwarded_from_id',
        'created_at',
        'edited_at',
        'deleted_at',
        'reactions',
        'attachments',
      ].sort(),
    );
  });

  it('pages back and forward over the same views, with one statement for the page', async () => {
    const g = await createGroup(app, alice, [bob], { name: 'pages' });
    for (let i = 0; i < 9; i++) {
      const m = await sendMessage(app, i % 2 ? alice : bob, g.id, `m${i}`);
      if (i % 3 === 0) await react(alice, m.id, '👍');
    }
    const expected = await expectedHistory(bob, g.id);
    const back: unknown[] = [];
    let cursor: string | null = null;
    do {
      const res = await call(
        app,
        bob,
        'GET',
        `/conversations/${g.id}/messages?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      back.push(...res.json().data);
      cursor = res.json().pagination.next_cursor;
    } while (cursor);
    expect(back).toEqual(expected);
    const forward = await call(app, bob, 'GET', `/conversations/${g.id}/messages?after_seq=2&limit=3`);
    expect(forward.json().data).toEqual(expected.filter((m) => m.seq > 2).slice(-3));
    const between = await call(
      app,
      bob,
      'GET',
      `/conversations/${g.id}/messages?before_seq=8&after_seq=2&limit=3`,
    );
    expect(between.json().data).toEqual(expected.filter((m) => m.seq > 2 && m.seq < 8).slice(0, 3));
    const statements = await countQueries(app, async () => {
      expect((await call(app, bob, 'GET', `/conversations/${g.id}/messages?limit=50`)).statusCode).toBe(200);
    });
    // The membership check and the page.
    expect(statements).toBe(2);
  });
});
