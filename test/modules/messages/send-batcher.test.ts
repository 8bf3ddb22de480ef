// Group commit: concurrent sends share one statement, and each still gets exactly the answer it would alone.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepared, preparedName, sqlLiteral } from '../../../src/db/prepared.js';
import type { MessageType } from '../../../src/db/schema.js';
import type { AppendMessageInput } from '../../../src/modules/messages/append-message.js';
import { type BatchOutcome, SendBatcher } from '../../../src/modules/messages/send-batcher.js';
import { buildTestApp } from '../../helpers/app.js';
import { createDm, createGroup, createUser, type TestUser } from '../../helpers/factories.js';
import { call } from '../conversations/messaging-helpers.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

beforeAll(async () => {
  app = await buildTestApp();
  [alice, bob, carol] = await Promise.all([createUser(app), createUser(app), createUser(app)]);
  // Only this suite's app sees this hook: a message saying exactly "boom" fails inside the write.
  app.tma.services.messages.onContentWritten(
    async (_trx, written) => {
      if (written.content === 'boom') throw new Error('hook failed');
    },
    (content) => content === 'boom',
  );
});
afterAll(async () => {
  await app.close();
});

/** Seqs of a conversation's messages and of its message.created events, in seq order. */
async function stored(conversationId: string) {
  const messages = await app.tma.db
    .selectFrom('messages')
    .select(['id', 'seq', 'content', 'sender_id'])
    .where('conversation_id', '=', conversationId)
    .orderBy('seq')
    .execute();
  const events = await app.tma.db
    .selectFrom('conversation_events')
    .select(['seq', 'message_id'])
    .where('conversation_id', '=', conversationId)
    .where('type', '=', 'message.created')
    .orderBy('seq')
    .execute();
  return { messages, events };
}

describe('sends under concurrency (batched writes)', () => {
  it('stores 60 concurrent sends in fewer statements than messages, with gapless seqs and one event each', async () => {
    const g1 = await createGroup(app, alice, [bob]);
    const g2 = await createGroup(app, bob, [alice]);
    const before = { ...app.tma.services.messages.sendStats };
    const sends = Array.from({ length: 60 }, (_, i) =>
      call(app, i % 2 ? alice : bob, 'POST', `/conversations/${i % 3 ? g1.id : g2.id}/messages`, {
        content: `m${i}`,
      }),
    );
    const results = await Promise.all(sends);
    expect(results.map((r) => r.statusCode)).toEqual(Array(60).fill(201));
    const after = app.tma.services.messages.sendStats;
    expect(after.messages - before.messages).toBe(60);
    expect(after.batches - before.batches).toBeLessThan(60);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain(`tma_message_write_batched_total ${after.messages}`);
    expect(metrics).toContain(`tma_message_write_batches_total ${after.batches}`);
    for (const g of [g1, g2]) {
      const { messages, events } = await stored(g.id);
      const n = messages.length;
      expect(messages.map((m) => Number(m.seq))).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      expect(events.map((e) => [Number(e.seq), e.message_id])).toEqual(
        messages.map((m) => [Number(m.seq), m.id]),
      );
    }
    // Each answer is the stored message with its own seq.
    for (const r of results) {
      const m = r.json().data;
      expect(m).toMatchObject({ type: 'text', reactions: [], metadata: {}, edited_at: null });
      expect(typeof m.seq).toBe('number');
      expect(m.created_at).toMatch(/Z$/);
    }
  });

  it('answers each message of a mixed burst as it would alone: 201, 404, 403 blocked, 200 retry, 400', async () => {
    const group = await createGroup(app, alice, [bob]);
    const [x, y] = await Promise.all([createUser(app), createUser(app)]);
    const dm = await createDm(app, x, y);
    await app.tma.db
      .insertInto('user_blocks')
      .values({ blocker_id: y.user.id, blocked_id: x.user.id })
      .execute();
    const clientId = randomUUID();
    const burst = await Promise.all([
      call(app, alice, 'POST', `/conversations/${group.id}/messages`, {
        content: 'one',
        client_id: clientId,
      }),
      call(app, carol, 'POST', `/conversations/${group.id}/messages`, { content: 'outsider' }),
      call(app, x, 'POST', `/conversations/${dm.id}/messages`, { content: 'blocked' }),
      call(app, alice, 'POST', `/conversations/${group.id}/messages`, {
        content: 'one',
        client_id: clientId,
      }),
      call(app, bob, 'POST', `/conversations/${group.id}/messages`, { content: '   ' }),
      call(app, bob, 'POST', `/conversations/${randomUUID()}/messages`, { content: 'nowhere' }),
      call(app, bob, 'POST', `/conversations/${group.id}/messages`, { content: 'two' }),
    ]);
    // Concurrent requests reach the server in any order: either copy of the client_id may be the first.
    const statuses = burst.map((r) => r.statusCode);
    expect([statuses[0], statuses[3]].sort()).toEqual([200, 201]);
    expect([statuses[1], statuses[2], statuses[4], statuses[5], statuses[6]]).toEqual([
      404, 403, 400, 404, 201,
    ]);
    expect(burst[2]?.json().error.code).toBe('blocked');
    expect(burst[3]?.json().data.id).toBe(burst[0]?.json().data.id);
    const { messages } = await stored(group.id);
    expect(messages.map((m) => Number(m.seq))).toEqual([1, 2]);
    expect(messages.map((m) => m.content).sort()).toEqual(['one', 'two']);
    expect((await stored(dm.id)).messages).toEqual([]);
  });

  it('a message whose hook fails is refused alone; the rest of its batch is stored without a seq gap', async () => {
    const group = await createGroup(app, alice, [bob]);
    const burst = await Promise.all(
      ['a', 'boom', 'b', 'c'].map((content) =>
        call(app, bob, 'POST', `/conversations/${group.id}/messages`, { content }),
      ),
    );
    expect(burst.map((r) => r.statusCode)).toEqual([201, 500, 201, 201]);
    expect(burst[1]?.json().error.code).toBe('internal_error');
    const { messages, events } = await stored(group.id);
    expect(messages.map((m) => m.content).sort()).toEqual(['a', 'b', 'c']);
    expect(messages.map((m) => Number(m.seq))).toEqual([1, 2, 3]);
    expect(events.map((e) => Number(e.seq))).toEqual([1, 2, 3]);
  });

  it('gives a burst from one sender distinct gapless seqs and resolves mentions of batched messages', async () => {
    // Order within a burst of concurrent requests is the server's arrival order (the batcher's own order
    // is pinned below, in SendBatcher); here: no gap, no duplicate, every answer its stored row.
    const group = await createGroup(app, alice, [bob, carol]);
    const texts = Array.from({ length: 20 }, (_, i) => (i === 7 ? `hey @${carol.user.username}` : `n${i}`));
    const results = await Promise.all(
      texts.map((content) => call(app, bob, 'POST', `/conversations/${group.id}/messages`, { content })),
    );
    const seqs = results.map((r) => r.json().data.seq as number);
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const { messages } = await stored(group.id);
    for (const [i, seq] of seqs.entries()) {
      expect(messages.find((m) => Number(m.seq) === seq)?.content).toBe(texts[i]);
    }
    expect(results[7]?.json().data.metadata).toEqual({ mentions: [carol.user.id] });
  });
});

describe('SendBatcher', () => {
  const seqOf = (outcome: BatchOutcome | undefined) =>
    outcome?.kind === 'stored' ? Number(outcome.row.seq) : undefined;
  const input = (conversationId: string, sender: TestUser, content: string, type: MessageType = 'text') =>
    ({
      conversation_id: conversationId,
      sender_id: sender.user.id,
      type,
      content,
      metadata: {},
    }) satisfies AppendMessageInput;

  it('writes same-tick submissions as one batch and numbers them in submission order', async () => {
    const group = await createGroup(app, alice, [bob]);
    const sizes: number[] = [];
    const batcher = new SendBatcher({
      db: app.tma.db,
      needsHooks: () => false,
      hooks: async () => {},
      onBatch: (n) => sizes.push(n),
    });
    const rows = await Promise.all(
      Array.from({ length: 25 }, (_, i) => batcher.submit(input(group.id, i % 2 ? alice : bob, `s${i}`))),
    );
    expect(sizes).toEqual([25]);
    expect(rows.map(seqOf)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it('splits at maxBatch and writes each conversation in arrival order across lanes', async () => {
    const [g1, g2] = await Promise.all([createGroup(app, alice, [bob]), createGroup(app, alice, [bob])]);
    const sizes: number[] = [];
    const batcher = new SendBatcher({
      db: app.tma.db,
      needsHooks: () => false,
      hooks: async () => {},
      maxBatch: 4,
      lanes: 2,
      onBatch: (n) => sizes.push(n),
    });
    const rows = await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => batcher.submit(input(g1.id, alice, `x${i}`))),
      ...Array.from({ length: 3 }, (_, i) => batcher.submit(input(g2.id, bob, `y${i}`))),
    ]);
    expect(rows.map(seqOf)).toEqual([1, 2, 3, 4, 5, 6, 1, 2, 3]);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(9);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
  });

  it('rejects a lone message with its database error, and hands each message of a failed batch back', async () => {
    const group = await createGroup(app, alice, [bob]);
    const batcher = new SendBatcher({ db: app.tma.db, needsHooks: () => false, hooks: async () => {} });
    // A type the schema's CHECK refuses makes the whole statement fail.
    const bad = input(group.id, alice, 'bad', 'bogus' as MessageType);
    await expect(batcher.submit(bad)).rejects.toThrow();
    const pair = await Promise.all([batcher.submit(input(group.id, alice, 'good')), batcher.submit(bad)]);
    expect(pair).toEqual([undefined, undefined]);
    expect((await stored(group.id)).messages).toEqual([]);
    // The conversation took no seq: the next message is 1.
    expect(seqOf(await batcher.submit(input(group.id, bob, 'first')))).toBe(1);
  });

  it('answers a refusal per message, in the checked order: not a member, a used client_id, a DM block', async () => {
    const group = await createGroup(app, alice, [bob]);
    const [x, y] = await Promise.all([createUser(app), createUser(app)]);
    const dm = await createDm(app, x, y);
    const batcher = new SendBatcher({ db: app.tma.db, needsHooks: () => false, hooks: async () => {} });
    const [mine, theirs] = [randomUUID(), randomUUID()];
    const first = await batcher.submit({ ...input(group.id, alice, 'first'), client_id: mine });
    const before = await batcher.submit({ ...input(dm.id, y, 'before'), client_id: theirs });
    const id = (o: BatchOutcome | undefined) => (o?.kind === 'stored' ? o.row.id : undefined);
    await app.tma.db
      .insertInto('user_blocks')
      .values({ blocker_id: x.user.id, blocked_id: y.user.id })
      .execute();
    const outcomes = await Promise.all([
      batcher.submit(input(group.id, carol, 'outsider')),
      batcher.submit({ ...input(group.id, alice, 'again'), client_id: mine }),
      batcher.submit({ ...input(dm.id, alice, 'elsewhere'), client_id: mine }),
      batcher.submit(input(dm.id, y, 'blocked')),
      batcher.submit(input(randomUUID(), bob, 'nowhere')),
      // A retry in a DM blocked since is answered as the retry it is: client_id is checked before blocks.
      batcher.submit({ ...input(dm.id, y, 'before'), client_id: theirs }),
    ]);
    expect(outcomes).toEqual([
      { kind: 'refused', reason: 'not_member' },
      { kind: 'duplicate', original: { id: id(first), conversation_id: group.id } },
      { kind: 'refused', reason: 'not_member' },
      { kind: 'refused', reason: 'blocked' },
      { kind: 'refused', reason: 'not_member' },
      { kind: 'duplicate', original: { id: id(before), conversation_id: dm.id } },
    ]);
    expect((await stored(group.id)).messages.map((m) => m.content)).toEqual(['first']);
    expect((await stored(dm.id)).messages.map((m) => Number(m.seq))).toEqual([1]);
  });
});

describe('prepared statements', () => {
  it('tags statements by a safe name and quotes parameters as literals', () => {
    expect(preparedName(`${prepared('tma_x1')}\nSELECT 1`)).toBe('tma_x1');
    expect(preparedName('SELECT 1')).toBeUndefined();
    expect(() => prepared('x; DROP TABLE users')).toThrow(/invalid prepared statement name/);
    expect(sqlLiteral("it's")).toBe("'it''s'");
    expect([sqlLiteral(null), sqlLiteral(3), sqlLiteral(true), sqlLiteral({ a: "b'" })]).toEqual([
      'NULL',
      '3',
      'true',
      `'{"a":"b''"}'`,
    ]);
  });

  it('stores content with quotes, backslashes and unicode exactly through the prepared batch', async () => {
    const group = await createGroup(app, alice, [bob]);
    const tricky = `it's "quoted" \\ back\\slash $1 ''; SELECT 1; -- ✓ 🎉`;
    const res = await call(app, bob, 'POST', `/conversations/${group.id}/messages`, {
      content: tricky,
      metadata: { note: "o'clock" },
    });
    expect(res.statusCode).toBe(201);
    const row = await app.tma.db
      .selectFrom('messages')
      .select(['content', 'metadata'])
      .where('id', '=', res.json().data.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ content: tricky, metadata: { note: "o'clock" } });
  });
});
