import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../helpers/app.js';
import { createGroup, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';
import { call } from '../conversations/messaging-helpers.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let outsider: TestUser;

beforeAll(async () => {
  app = await buildTestApp();
  [alice, bob, carol, outsider] = await Promise.all([
    createUser(app),
    createUser(app),
    createUser(app),
    createUser(app),
  ]);
});
afterAll(async () => {
  await app.close();
});

interface EventBody {
  seq: number;
  type: string;
  message_id: string | null;
  payload: Record<string, unknown> & { message?: { content: string | null; deleted_at: string | null } };
}

describe('GET /conversations/:id/events', () => {
  it('returns every change after a seq in order: creates, edits, deletes, membership, renames', async () => {
    const g = await createGroup(app, alice, [bob], { name: 'Log' });
    const m1 = await sendMessage(app, alice, g.id, 'first'); // 1
    const cursor = m1.seq;
    const m2 = await sendMessage(app, bob, g.id, 'second'); // 2
    await call(app, bob, 'PATCH', `/messages/${m2.id}`, { content: 'second, edited' }); // 3
    await call(app, alice, 'DELETE', `/messages/${m1.id}`); // 4
    await call(app, alice, 'POST', `/conversations/${g.id}/members`, { member_ids: [carol.user.id] }); // 5, 6
    await call(app, alice, 'PATCH', `/conversations/${g.id}`, { name: 'Renamed' }); // 7, 8
    await call(app, alice, 'DELETE', `/conversations/${g.id}/members/${carol.user.id}`); // 9, 10

    const res = await call(app, bob, 'GET', `/conversations/${g.id}/events?after_seq=${cursor}`);
    expect(res.statusCode).toBe(200);
    const events: EventBody[] = res.json().data;
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [2, 'message.created'],
      [3, 'message.updated'],
      [4, 'message.deleted'],
      [5, 'member.added'],
      [6, 'message.created'],
      [7, 'conversation.updated'],
      [8, 'message.created'],
      [9, 'member.removed'],
      [10, 'message.created'],
    ]);
    expect(events[0]?.payload.message?.content).toBe('second, edited');
    expect(events[2]).toMatchObject({ message_id: m1.id, payload: { message_id: m1.id } });
    // The deleted message shows as a tombstone.
    expect(events[2]?.payload.message).toMatchObject({ content: null });
    expect(events[2]?.payload.message?.deleted_at).not.toBeNull();
    expect(events[3]?.payload).toEqual({ user_ids: [carol.user.id] });
    expect(events[5]?.payload).toEqual({ changes: { name: 'Renamed' } });
    expect(events[7]?.payload).toEqual({ user_id: carol.user.id, reason: 'removed' });
    // Replaying from 0 shows the first message as a tombstone too.
    const all: EventBody[] = (await call(app, bob, 'GET', `/conversations/${g.id}/events`)).json().data;
    expect(all[0]?.payload.message).toMatchObject({ content: null });
  });

  it('pages with limit and a cursor; a cursor at last_seq returns nothing', async () => {
    const g = await createGroup(app, alice, [bob]);
    for (let i = 0; i < 5; i++) await sendMessage(app, alice, g.id, `m${i}`);
    const first = await call(app, bob, 'GET', `/conversations/${g.id}/events?after_seq=0&limit=2`);
    expect(first.json().data.map((e: EventBody) => e.seq)).toEqual([1, 2]);
    expect(first.json().pagination.has_more).toBe(true);
    const next = await call(
      app,
      bob,
      'GET',
      `/conversations/${g.id}/events?limit=2&cursor=${first.json().pagination.next_cursor}`,
    );
    expect(next.json().data.map((e: EventBody) => e.seq)).toEqual([3, 4]);
    const end = await call(app, bob, 'GET', `/conversations/${g.id}/events?after_seq=5`);
    expect(end.json()).toMatchObject({ data: [], pagination: { has_more: false, next_cursor: null } });
    const beyond = await call(app, bob, 'GET', `/conversations/${g.id}/events?after_seq=99`);
    expect(beyond.json().data).toEqual([]);
  });

  it('answers 404 to non-members (and after leaving), 400 to bad parameters', async () => {
    const g = await createGroup(app, alice, [bob]);
    expect((await call(app, outsider, 'GET', `/conversations/${g.id}/events`)).statusCode).toBe(404);
    await call(app, bob, 'DELETE', `/conversations/${g.id}/members/${bob.user.id}`);
    expect((await call(app, bob, 'GET', `/conversations/${g.id}/events`)).statusCode).toBe(404);
    const bad = await call(app, alice, 'GET', `/conversations/${g.id}/events?after_seq=-1`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.field).toBe('after_seq');
  });

  it('answers 410 cursor_expired when the events after the cursor were pruned', async () => {
    const retention = app.tma.config.eventRetentionDays;
    const g = await createGroup(app, alice, [bob]);
    for (let i = 0; i < 4; i++) await sendMessage(app, alice, g.id, `old${i}`);
    await app.tma.db
      .updateTable('conversation_events')
      .set({ created_at: sql<Date>`now() - make_interval(days => ${retention + 1})` })
      .where('conversation_id', '=', g.id)
      .where('seq', '<=', 3)
      .execute();
    const pruned = await app.tma.services.sync.prune();
    expect(pruned).toBeGreaterThanOrEqual(3);
    const expired = await call(app, bob, 'GET', `/conversations/${g.id}/events?after_seq=1`);
    expect(expired.statusCode).toBe(410);
    expect(expired.json().error.code).toBe('cursor_expired');
    // Seq 3 is the last pruned one: a client that has it misses nothing.
    const fine = await call(app, bob, 'GET', `/conversations/${g.id}/events?after_seq=3`);
    expect(fine.json().data.map((e: EventBody) => e.seq)).toEqual([4]);
    // Messages themselves stay.
    expect((await call(app, bob, 'GET', `/conversations/${g.id}/messages`)).json().data).toHaveLength(4);
  });
});

describe('POST /sync', () => {
  it('returns what each conversation missed, per-entry errors, and every membership last_seq', async () => {
    const g1 = await createGroup(app, alice, [bob]);
    const g2 = await createGroup(app, alice, [bob]);
    const hidden = await createGroup(app, alice, []);
    await sendMessage(app, alice, g1.id, 'a');
    await sendMessage(app, alice, g1.id, 'b');
    await sendMessage(app, alice, g2.id, 'c');
    const res = await call(app, bob, 'POST', '/sync', {
      cursors: { [g1.id]: 1, [g2.id]: 0, [hidden.id]: 0 },
    });
    expect(res.statusCode).toBe(200);
    const { conversations, memberships } = res.json().data;
    expect(conversations).toHaveLength(3);
    const byId = Object.fromEntries(
      conversations.map((c: { conversation_id: string }) => [c.conversation_id, c]),
    );
    expect(byId[g1.id]).toMatchObject({ status: 'ok', last_seq: 2, has_more: false });
    expect(byId[g1.id].events.map((e: EventBody) => e.seq)).toEqual([2]);
    expect(byId[g2.id].events.map((e: EventBody) => e.payload.message?.content)).toEqual(['c']);
    expect(byId[hidden.id]).toMatchObject({ status: 'not_found', events: [] });
    const seqs = Object.fromEntries(
      memberships.map((m: { conversation_id: string; last_seq: number }) => [m.conversation_id, m.last_seq]),
    );
    expect(seqs[g1.id]).toBe(2);
    expect(seqs[g2.id]).toBe(1);
    expect(seqs[hidden.id]).toBeUndefined();
  });

  it('reports cursor_expired per entry', async () => {
    const g = await createGroup(app, alice, [bob]);
    await sendMessage(app, alice, g.id, 'a');
    await sendMessage(app, alice, g.id, 'b');
    await app.tma.db
      .deleteFrom('conversation_events')
      .where('conversation_id', '=', g.id)
      .where('seq', '=', 1)
      .execute();
    const res = await call(app, bob, 'POST', '/sync', { cursors: { [g.id]: 0 } });
    expect(res.json().data.conversations[0]).toMatchObject({ status: 'cursor_expired' });
  });

  it('refuses malformed bodies (400 naming the field)', async () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'cursors'],
      [{ cursors: { 'not-a-uuid': 1 } }, 'cursors'],
      [{ cursors: { [randomUUID()]: -1 } }, 'cursors'],
      [{ cursors: {}, limit: 1000 }, 'limit'],
    ];
    for (const [body, field] of cases) {
      const res = await call(app, bob, 'POST', '/sync', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(String(res.json().error.details.field)).toContain(field);
    }
    const tooMany = Object.fromEntries(Array.from({ length: 101 }, () => [randomUUID(), 0]));
    expect((await call(app, bob, 'POST', '/sync', { cursors: tooMany })).statusCode).toBe(400);
  });
});
