import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEventMap } from '../../../src/events/domain-events.js';
import { buildTestApp } from '../../helpers/app.js';
import { createDm, createGroup, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';
import { call, countQueries } from '../conversations/messaging-helpers.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let group: { id: string };

beforeAll(async () => {
  app = await buildTestApp();
  [alice, bob, carol] = await Promise.all([createUser(app), createUser(app), createUser(app)]);
  group = await createGroup(app, alice, [bob]);
});
afterAll(async () => {
  await app.close();
});

async function messageCount(conversationId: string): Promise<number> {
  const row = await app.tma.db
    .selectFrom('messages')
    .where('conversation_id', '=', conversationId)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('POST /conversations/:id/messages', () => {
  it('stores a trimmed text message with the next seq (201) and publishes message.created after commit', async () => {
    const g = await createGroup(app, alice, [bob]);
    const seen: DomainEventMap['message.created'][] = [];
    const off = app.tma.bus.subscribe('message.created', (e) => {
      seen.push(e);
    });
    const res = await call(app, bob, 'POST', `/conversations/${g.id}/messages`, { content: '  hi there  ' });
    off();
    expect(res.statusCode).toBe(201);
    const message = res.json().data;
    expect(message).toMatchObject({
      conversation_id: g.id,
      seq: 1,
      sender_id: bob.user.id,
      type: 'text',
      content: 'hi there',
      metadata: {},
      reply_to_id: null,
      forwarded_from_id: null,
      edited_at: null,
      deleted_at: null,
      reactions: [],
    });
    expect(seen).toEqual([{ message }]);
    const event = await app.tma.db
      .selectFrom('conversation_events')
      .selectAll()
      .where('conversation_id', '=', g.id)
      .where('seq', '=', 1)
      .executeTakeFirstOrThrow();
    expect(event).toMatchObject({ type: 'message.created', message_id: message.id, actor_id: bob.user.id });
  });

  it('drops metadata keys only the server writes (mentions, link previews, polls), on send and on edit', async () => {
    const forged = {
      mentions: [carol.user.id],
      mention_all: true,
      link_preview: { url: 'x' },
      poll_id: 'p',
      color: 'red',
    };
    const res = await call(app, bob, 'POST', `/conversations/${group.id}/messages`, {
      content: 'plain',
      metadata: forged,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().data.metadata).toEqual({ color: 'red' });
    const edited = await call(app, bob, 'PATCH', `/messages/${res.json().data.id}`, {
      content: 'still plain',
      metadata: forged,
    });
    expect(edited.statusCode).toBe(200);
    expect(edited.json().data.metadata).toEqual({ color: 'red' });
  });

  it('gives 50 parallel sends seqs 1..50 with no gap or duplicate; a client_id retry returns the original (200)', async () => {
    const [x, y] = await Promise.all([createUser(app), createUser(app)]);
    const dm = await createDm(app, x, y);
    const ids = Array.from({ length: 50 }, () => randomUUID());
    const results = await Promise.all(
      ids.map((client_id, i) =>
        call(app, i % 2 ? x : y, 'POST', `/conversations/${dm.id}/messages`, { content: `m${i}`, client_id }),
      ),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array(50).fill(201));
    const seqs = results.map((r) => r.json().data.seq).sort((a: number, b: number) => a - b);
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const retry = await call(app, x, 'POST', `/conversations/${dm.id}/messages`, {
      content: 'changed text',
      client_id: ids[1],
    });
    expect(retry.statusCode).toBe(200);
    expect(retry.json().data).toEqual(results[1]?.json().data);
    expect(await messageCount(dm.id)).toBe(50);
    expect((await call(app, x, 'GET', `/conversations/${dm.id}`)).json().data.last_seq).toBe(50);
  });

  it('parallel retries of one client_id store one message and take one seq', async () => {
    const g = await createGroup(app, alice, [bob]);
    const client_id = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        call(app, bob, 'POST', `/conversations/${g.id}/messages`, { content: 'once', client_id }),
      ),
    );
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(7);
    expect(new Set(results.map((r) => r.json().data.id)).size).toBe(1);
    expect(await messageCount(g.id)).toBe(1);
    expect((await call(app, bob, 'GET', `/conversations/${g.id}`)).json().data.last_seq).toBe(1);
  });

  it('refuses a client_id already used in another conversation (409 client_id_conflict)', async () => {
    const other = await createGroup(app, alice, [bob]);
    const client_id = randomUUID();
    await sendMessage(app, alice, group.id, { content: 'first', client_id });
    const res = await call(app, alice, 'POST', `/conversations/${other.id}/messages`, {
      content: 'x',
      client_id,
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('client_id_conflict');
  });

  it('refuses empty, whitespace-only, oversized and malformed input with 400 naming the field', async () => {
    const g = await createGroup(app, alice, [bob]);
    const cases: Array<[unknown, string]> = [
      [{ content: '' }, 'content'],
      [{ content: '   \n ' }, 'content'],
      [{}, 'content'],
      [{ content: 'x'.repeat(10_001) }, 'content'],
      [{ content: 'x'.repeat(20_000) }, 'content'],
      [{ content: 5 }, 'content'],
      [{ content: 'x', type: 'system' }, 'type'],
      [{ content: 'x', client_id: 'abc' }, 'client_id'],
      [{ content: 'x', reply_to_id: 'abc' }, 'reply_to_id'],
      [{ content: 'x', metadata: { blob: 'y'.repeat(20_000) } }, 'metadata'],
      [{ content: 'x', unknown: true }, 'unknown'],
    ];
    for (const [body, field] of cases) {
      const res = await call(app, alice, 'POST', `/conversations/${g.id}/messages`, body);
      expect(res.statusCode, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(res.json().error.code).toBe('validation_error');
      expect(res.json().error.details.field).toBe(field);
    }
    const raw = await app.inject({
      method: 'POST',
      url: `/api/v1/conversations/${g.id}/messages`,
      headers: { ...alice.headers, 'content-type': 'application/json' },
      payload: '{"content": ',
    });
    expect(raw.statusCode).toBe(400);
    // Nothing half-written: no message, no seq taken, no event row.
    expect(await messageCount(g.id)).toBe(0);
    expect((await call(app, alice, 'GET', `/conversations/${g.id}`)).json().data.last_seq).toBe(0);
    const events = await app.tma.db
      .selectFrom('conversation_events')
      .where('conversation_id', '=', g.id)
      .select('seq')
      .execute();
    expect(events).toEqual([]);
  });

  it('accepts exactly 10,000 characters after trimming', async () => {
    const m = await sendMessage(app, alice, group.id, 'y'.repeat(10_000));
    expect(m.content).toHaveLength(10_000);
    // Counted after trimming, in characters (code points), not UTF-16 units.
    const padded = await sendMessage(app, alice, group.id, `  ${'z'.repeat(10_000)}  `);
    expect(padded.content).toHaveLength(10_000);
    const emoji = await sendMessage(app, alice, group.id, '😀'.repeat(10_000));
    expect([...(emoji.content ?? '')]).toHaveLength(10_000);
    const tooMany = await call(app, alice, 'POST', `/conversations/${group.id}/messages`, {
      content: '😀'.repeat(10_001),
    });
    expect(tooMany.statusCode).toBe(400);
  });

  it('answers 404 to a non-member and to an unknown conversation', async () => {
    const res = await call(app, carol, 'POST', `/conversations/${group.id}/messages`, { content: 'hi' });
    expect(res.statusCode).toBe(404);
    const unknown = await call(app, carol, 'POST', `/conversations/${randomUUID()}/messages`, {
      content: 'hi',
    });
    expect(unknown.statusCode).toBe(404);
  });

  it('refuses writing in a DM after a block either way (403 blocked); shared groups still work', async () => {
    const [x, y] = await Promise.all([createUser(app), createUser(app)]);
    const dm = await createDm(app, x, y);
    const shared = await createGroup(app, x, [y]);
    await app.tma.db
      .insertInto('user_blocks')
      .values({ blocker_id: x.user.id, blocked_id: y.user.id })
      .execute();
    for (const who of [x, y]) {
      const res = await call(app, who, 'POST', `/conversations/${dm.id}/messages`, { content: 'hi' });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('blocked');
    }
    await sendMessage(app, y, shared.id, 'still visible in the group');
    const history = (await call(app, x, 'GET', `/conversations/${shared.id}/messages`)).json().data;
    expect(history[0].content).toBe('still visible in the group');
  });

  it('replies within the same conversation only (422 invalid_reply)', async () => {
    const original = await sendMessage(app, alice, group.id, 'question');
    const reply = await sendMessage(app, bob, group.id, { content: 'answer', reply_to_id: original.id });
    expect(reply).toMatchObject({ reply_to_id: original.id });
    const elsewhere = await createGroup(app, alice, [bob]);
    const res = await call(app, bob, 'POST', `/conversations/${elsewhere.id}/messages`, {
      content: 'x',
      reply_to_id: original.id,
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('invalid_reply');
    const unknown = await call(app, bob, 'POST', `/conversations/${group.id}/messages`, {
      content: 'x',
      reply_to_id: randomUUID(),
    });
    expect(unknown.statusCode).toBe(422);
  });

  it('forwards a message into another conversation of the caller, copying its content', async () => {
    const source = await sendMessage(app, alice, group.id, 'worth sharing');
    const target = await createGroup(app, bob, [carol]);
    const res = await call(app, bob, 'POST', `/conversations/${target.id}/messages`, {
      forwarded_from_id: source.id,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().data).toMatchObject({
      content: 'worth sharing',
      forwarded_from_id: source.id,
      sender_id: bob.user.id,
    });
    // Into a conversation the caller is not in: 404.
    const notMine = await createGroup(app, carol, []);
    const intoOther = await call(app, bob, 'POST', `/conversations/${notMine.id}/messages`, {
      forwarded_from_id: source.id,
    });
    expect(intoOther.statusCode).toBe(404);
    // A message the caller cannot see: 404.
    const hidden = await sendMessage(app, carol, notMine.id, 'private');
    const leak = await call(app, bob, 'POST', `/conversations/${target.id}/messages`, {
      forwarded_from_id: hidden.id,
    });
    expect(leak.statusCode).toBe(404);
  });
});

describe('GET /conversations/:id/messages', () => {
  let g: { id: string };
  beforeAll(async () => {
    g = await createGroup(app, alice, [bob]);
    for (let i = 1; i <= 7; i++) await sendMessage(app, i % 2 ? alice : bob, g.id, `m${i}`);
  });

  it('pages back newest first with before_seq cursors', async () => {
    const first = await call(app, bob, 'GET', `/conversations/${g.id}/messages?limit=3`);
    expect(first.json().data.map((m: { seq: number }) => m.seq)).toEqual([7, 6, 5]);
    expect(first.json().pagination.has_more).toBe(true);
    const second = await call(
      app,
      bob,
      'GET',
      `/conversations/${g.id}/messages?limit=3&cursor=${first.json().pagination.next_cursor}`,
    );
    expect(second.json().data.map((m: { seq: number }) => m.seq)).toEqual([4, 3, 2]);
    const third = await call(
      app,
      bob,
      'GET',
      `/conversations/${g.id}/messages?limit=3&cursor=${second.json().pagination.next_cursor}`,
    );
    expect(third.json().data.map((m: { seq: number }) => m.seq)).toEqual([1]);
    expect(third.json().pagination).toEqual({ next_cursor: null, has_more: false });
    const before = await call(app, bob, 'GET', `/conversations/${g.id}/messages?before_seq=3`);
    expect(before.json().data.map((m: { seq: number }) => m.seq)).toEqual([2, 1]);
  });

  it('pages forward with after_seq (each page newest first)', async () => {
    const first = await call(app, bob, 'GET', `/conversations/${g.id}/messages?after_seq=2&limit=2`);
    expect(first.json().data.map((m: { seq: number }) => m.seq)).toEqual([4, 3]);
    const next = await call(
      app,
      bob,
      'GET',
      `/conversations/${g.id}/messages?limit=2&cursor=${first.json().pagination.next_cursor}`,
    );
    expect(next.json().data.map((m: { seq: number }) => m.seq)).toEqual([6, 5]);
    const last = await call(app, bob, 'GET', `/conversations/${g.id}/messages?after_seq=6&limit=2`);
    expect(last.json().data.map((m: { seq: number }) => m.seq)).toEqual([7]);
    expect(last.json().pagination.has_more).toBe(false);
  });

  it('runs the same number of queries for 2 and 100 messages', async () => {
    const big = await createGroup(app, alice, [bob]);
    for (let i = 0; i < 100; i++) await sendMessage(app, alice, big.id, `b${i}`);
    const small = await countQueries(app, async () => {
      expect(
        (await call(app, bob, 'GET', `/conversations/${g.id}/messages?limit=2`)).json().data,
      ).toHaveLength(2);
    });
    const large = await countQueries(app, async () => {
      expect(
        (await call(app, bob, 'GET', `/conversations/${big.id}/messages?limit=100`)).json().data,
      ).toHaveLength(100);
    });
    expect(large).toBe(small);
    expect(small).toBeGreaterThan(0);
    expect(small).toBeLessThanOrEqual(3);
  });

  it('answers 404 to a non-member and 400 to bad parameters', async () => {
    expect((await call(app, carol, 'GET', `/conversations/${g.id}/messages`)).statusCode).toBe(404);
    const bad = await call(app, bob, 'GET', `/conversations/${g.id}/messages?before_seq=abc`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.field).toBe('before_seq');
    expect((await call(app, bob, 'GET', `/conversations/${g.id}/messages?limit=0`)).statusCode).toBe(400);
    expect((await call(app, bob, 'GET', `/conversations/${g.id}/messages?cursor=bogus`)).statusCode).toBe(
      400,
    );
  });
});

describe('GET/PATCH/DELETE /messages/:id', () => {
  it('gets a message for members only', async () => {
    const m = await sendMessage(app, alice, group.id, 'read me');
    expect((await call(app, bob, 'GET', `/messages/${m.id}`)).json().data.content).toBe('read me');
    expect((await call(app, carol, 'GET', `/messages/${m.id}`)).statusCode).toBe(404);
    expect((await call(app, bob, 'GET', `/messages/${randomUUID()}`)).statusCode).toBe(404);
  });

  it('edits own messages: new seq, edited_at set, message.updated published', async () => {
    const m = await sendMessage(app, alice, group.id, 'typo');
    const seen: DomainEventMap['message.updated'][] = [];
    const off = app.tma.bus.subscribe('message.updated', (e) => {
      seen.push(e);
    });
    const res = await call(app, alice, 'PATCH', `/messages/${m.id}`, { content: ' fixed ' });
    off();
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({ content: 'fixed', seq: m.seq });
    expect(res.json().data.edited_at).not.toBeNull();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.seq).toBe(m.seq + 1);
  });

  it('refuses editing others (403 not_author), empty content (400), outsiders (404) and after the window (403)', async () => {
    const m = await sendMessage(app, alice, group.id, 'mine');
    const other = await call(app, bob, 'PATCH', `/messages/${m.id}`, { content: 'x' });
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe('not_author');
    const empty = await call(app, alice, 'PATCH', `/messages/${m.id}`, { content: '  ' });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.details.field).toBe('content');
    expect((await call(app, carol, 'PATCH', `/messages/${m.id}`, { content: 'x' })).statusCode).toBe(404);
    await app.tma.db
      .updateTable('messages')
      .set({ created_at: new Date(Date.now() - 49 * 3600 * 1000) })
      .where('id', '=', m.id)
      .execute();
    const late = await call(app, alice, 'PATCH', `/messages/${m.id}`, { content: 'late' });
    expect(late.statusCode).toBe(403);
    expect(late.json().error.code).toBe('edit_window_expired');
  });

  it('deletes own messages as tombstones; group admins may delete any; members may not', async () => {
    const mine = await sendMessage(app, bob, group.id, 'oops');
    const seen: DomainEventMap['message.deleted'][] = [];
    const off = app.tma.bus.subscribe('message.deleted', (e) => {
      seen.push(e);
    });
    const res = await call(app, bob, 'DELETE', `/messages/${mine.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({ id: mine.id, seq: mine.seq, content: null, metadata: {} });
    expect(res.json().data.deleted_at).not.toBeNull();
    expect(seen).toEqual([{ conversation_id: group.id, seq: mine.seq + 1, message_id: mine.id }]);
    const again = await call(app, bob, 'DELETE', `/messages/${mine.id}`);
    expect(again.statusCode).toBe(200);
    off();
    expect(seen).toHaveLength(1);
    const editDeleted = await call(app, bob, 'PATCH', `/messages/${mine.id}`, { content: 'x' });
    expect(editDeleted.statusCode).toBe(422);

    const alices = await sendMessage(app, alice, group.id, 'admin message');
    const byMember = await call(app, bob, 'DELETE', `/messages/${alices.id}`);
    expect(byMember.statusCode).toBe(403);
    const bobs = await sendMessage(app, bob, group.id, 'moderate me');
    expect((await call(app, alice, 'DELETE', `/messages/${bobs.id}`)).statusCode).toBe(200);
    expect((await call(app, carol, 'DELETE', `/messages/${bobs.id}`)).statusCode).toBe(404);
    // The tombstone keeps its place in history.
    const history = (await call(app, bob, 'GET', `/conversations/${group.id}/messages?limit=100`)).json()
      .data;
    expect(history.find((m: { id: string }) => m.id === mine.id)).toMatchObject({
      content: null,
      seq: mine.seq,
    });
  });

  it('in a DM, only the author may delete', async () => {
    const dm = await createDm(app, alice, carol);
    const m = await sendMessage(app, alice, dm.id, 'dm');
    expect((await call(app, carol, 'DELETE', `/messages/${m.id}`)).statusCode).toBe(403);
  });
});
