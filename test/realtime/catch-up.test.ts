// Catch-up: a client that was away syncs over the socket and ends with exactly the server's state, in order.
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../../src/events/domain-events.js';
import { buildTestApp } from '../helpers/app.js';
import { createGroup, createUser, sendMessage, type TestUser } from '../helpers/factories.js';
import { closeAllSockets, collect, connectSocket, emitWithAck, nextEvent } from '../helpers/sockets.js';
import { deleteRest, editRest } from './fixtures.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  app = await buildTestApp();
  [alice, bob] = await Promise.all([createUser(app), createUser(app)]);
});
afterEach(() => closeAllSockets());
afterAll(async () => {
  await app.close();
});

interface SyncEntry {
  status: string;
  conversation_id: string;
  last_seq: number;
  has_more: boolean;
  events: Array<{ seq: number; type: string; message_id: string | null; payload: { message?: MessageView } }>;
}

async function history(user: TestUser, conversationId: string): Promise<MessageView[]> {
  const all: MessageView[] = [];
  let before: number | undefined;
  for (;;) {
    const query = before === undefined ? 'limit=100' : `limit=100&before_seq=${before}`;
    const res = await app.inject({
      method: 'GET',
      url: `/api/v1/conversations/${conversationId}/messages?${query}`,
      headers: user.headers,
    });
    const page = (res.json() as { data: MessageView[] }).data;
    all.push(...page);
    if (page.length < 100) return all;
    before = Math.min(...page.map((m) => m.seq));
  }
}

describe('catch-up after a disconnect', () => {
  it('syncs 100 messages, edits and deletes: every event once, in order, ending at the server state', async () => {
    const conversationId = (await createGroup(app, alice, [bob])).id;
    await sendMessage(app, alice, conversationId, 'before the gap');

    // Bob is live, learns the current seq, then goes away.
    const away = await connectSocket(app, bob.token);
    const live = nextEvent<MessageView>(away, 'new_message');
    const last = await sendMessage(app, alice, conversationId, 'last one bob saw live');
    const cursor = (await live).seq;
    expect(cursor).toBe(last.seq);
    away.close();

    const sent: MessageView[] = [];
    for (let i = 0; i < 100; i++) sent.push(await sendMessage(app, alice, conversationId, `missed ${i}`));
    for (const m of sent.slice(0, 5)) await editRest(app, alice, m.id, `${m.content} (edited)`);
    for (const m of sent.slice(95)) await deleteRest(app, alice, m.id);
    await editRest(app, alice, last.id, 'edited while away');

    const back = await connectSocket(app, bob.token);
    const liveAfter = collect<MessageView>(back, 'new_message');
    const events: SyncEntry['events'] = [];
    let after = cursor;
    let lastSeq = 0;
    for (let round = 0; round < 10; round++) {
      const ack = await emitWithAck<{ conversations: SyncEntry[] }>(back, 'sync', {
        cursors: { [conversationId]: after },
        limit: 50,
      });
      expect(ack.ok).toBe(true);
      const entry = ack.data?.conversations[0] as SyncEntry;
      expect(entry.status).toBe('ok');
      events.push(...entry.events);
      lastSeq = entry.last_seq;
      after = entry.events.at(-1)?.seq ?? after;
      if (!entry.has_more) break;
    }

    // Every event once, in order, gap-free up to the conversation's last seq.
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: lastSeq - cursor }, (_, i) => cursor + 1 + i));
    expect(events.filter((e) => e.type === 'message.created')).toHaveLength(100);

    // Applying the events to what Bob had gives exactly the server's messages.
    const state = new Map<string, { content: string | null; deleted: boolean; edited: boolean }>();
    const seen = await history(bob, conversationId);
    for (const m of seen.filter((v) => v.seq <= cursor)) {
      state.set(m.id, { content: 'stale', deleted: false, edited: false });
    }
    for (const e of events) {
      const m = e.payload.message;
      if (m)
        state.set(m.id, { content: m.content, deleted: m.deleted_at !== null, edited: m.edited_at !== null });
    }
    const server = await history(alice, conversationId);
    expect(server).toHaveLength(102);
    for (const m of server) {
      if (m.seq <= cursor && m.id !== last.id) continue;
      expect(state.get(m.id), m.id).toEqual({
        content: m.content,
        deleted: m.deleted_at !== null,
        edited: m.edited_at !== null,
      });
    }
    expect(state.get(last.id)?.content).toBe('edited while away');
    expect(liveAfter).toHaveLength(0);
  });

  it('reports a conversation the user is not in as not_found and rejects malformed cursors', async () => {
    const carol = await createUser(app);
    const conversationId = (await createGroup(app, alice, [bob])).id;
    const c = await connectSocket(app, carol.token);
    const ack = await emitWithAck<{ conversations: SyncEntry[] }>(c, 'sync', {
      cursors: { [conversationId]: 0 },
    });
    expect(ack.data?.conversations[0]).toMatchObject({ status: 'not_found', events: [] });
    const bad = await emitWithAck(c, 'sync', { cursors: { 'not-a-uuid': 0 } });
    expect(bad.error?.code).toBe('validation_error');
    const tooMany = Object.fromEntries(
      Array.from({ length: 101 }, (_, i) => [`0190d2c4-0000-7000-8000-${String(i).padStart(12, '0')}`, 0]),
    );
    const big = await emitWithAck(c, 'sync', { cursors: tooMany });
    expect(big.error).toMatchObject({ code: 'validation_error', details: { field: 'cursors' } });
  });
});
