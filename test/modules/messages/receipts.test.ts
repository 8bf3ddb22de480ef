import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEventMap } from '../../../src/events/domain-events.js';
import { buildTestApp } from '../../helpers/app.js';
import { createGroup, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';
import { call } from '../conversations/messaging-helpers.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let shy: TestUser;
let outsider: TestUser;

beforeAll(async () => {
  app = await buildTestApp();
  [alice, bob, carol, outsider] = await Promise.all([
    createUser(app),
    createUser(app),
    createUser(app),
    createUser(app),
  ]);
  shy = await createUser(app, { settings: { privacy: { read_receipts: false } } });
});
afterAll(async () => {
  await app.close();
});

const unread = async (user: TestUser, id: string) =>
  (await call(app, user, 'GET', `/conversations/${id}`)).json().data.unread_count as number;

describe('POST /conversations/:id/read and /delivered', () => {
  it('moves watermarks forward only, and unread counts follow them', async () => {
    const g = await createGroup(app, alice, [bob]);
    const m1 = await sendMessage(app, alice, g.id, 'one');
    await sendMessage(app, alice, g.id, 'two');
    const m3 = await sendMessage(app, alice, g.id, 'three');
    await sendMessage(app, bob, g.id, 'own messages never count');
    expect(await unread(bob, g.id)).toBe(3);
    expect(await unread(alice, g.id)).toBe(1);

    const seen: DomainEventMap['receipt.updated'][] = [];
    const off = app.tma.bus.subscribe('receipt.updated', (e) => {
      seen.push(e);
    });
    const delivered = await call(app, bob, 'POST', `/conversations/${g.id}/delivered`, { seq: m3.seq });
    expect(delivered.statusCode).toBe(200);
    expect(delivered.json().data).toEqual({ conversation_id: g.id, delivered_seq: 3, read_seq: 0 });
    const read = await call(app, bob, 'POST', `/conversations/${g.id}/read`, { seq: m1.seq });
    expect(read.json().data).toEqual({ conversation_id: g.id, delivered_seq: 3, read_seq: 1 });
    expect(await unread(bob, g.id)).toBe(2);
    // Backwards: nothing moves, nothing is published.
    const back = await call(app, bob, 'POST', `/conversations/${g.id}/read`, { seq: 0 });
    expect(back.json().data).toEqual({ conversation_id: g.id, delivered_seq: 3, read_seq: 1 });
    const backDelivered = await call(app, bob, 'POST', `/conversations/${g.id}/delivered`, { seq: 1 });
    expect(backDelivered.json().data.delivered_seq).toBe(3);
    off();
    expect(seen).toEqual([
      { conversation_id: g.id, user_id: bob.user.id, delivered_seq: 3, read_seq: 0, read_visible: true },
      { conversation_id: g.id, user_id: bob.user.id, delivered_seq: 3, read_seq: 1, read_visible: true },
    ]);
  });

  it('clamps a seq beyond last_seq to last_seq; read implies delivered', async () => {
    const g = await createGroup(app, alice, [bob]);
    await sendMessage(app, alice, g.id, 'a');
    await sendMessage(app, alice, g.id, 'b');
    const res = await call(app, bob, 'POST', `/conversations/${g.id}/read`, { seq: 1000 });
    expect(res.json().data).toEqual({ conversation_id: g.id, delivered_seq: 2, read_seq: 2 });
    expect(await unread(bob, g.id)).toBe(0);
    await sendMessage(app, alice, g.id, 'c');
    expect(await unread(bob, g.id)).toBe(1);
  });

  it('does not count deleted messages as unread', async () => {
    const g = await createGroup(app, alice, [bob]);
    const m = await sendMessage(app, alice, g.id, 'gone soon');
    await sendMessage(app, alice, g.id, 'stays');
    await call(app, alice, 'DELETE', `/messages/${m.id}`);
    expect(await unread(bob, g.id)).toBe(1);
  });

  it('answers 404 to non-members and 400 to malformed bodies', async () => {
    const g = await createGroup(app, alice, [bob]);
    expect((await call(app, outsider, 'POST', `/conversations/${g.id}/read`, { seq: 1 })).statusCode).toBe(
      404,
    );
    expect(
      (await call(app, outsider, 'POST', `/conversations/${g.id}/delivered`, { seq: 1 })).statusCode,
    ).toBe(404);
    for (const body of [{}, { seq: -1 }, { seq: 'x' }, { seq: 1.5 }]) {
      const res = await call(app, bob, 'POST', `/conversations/${g.id}/read`, body);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details.field).toBe('seq');
    }
  });
});

describe('GET /messages/:id/receipts', () => {
  it('derives sent / delivered / read per member from the watermarks', async () => {
    const g = await createGroup(app, alice, [bob, carol]);
    const m = await sendMessage(app, alice, g.id, 'status?');
    const initial = (await call(app, alice, 'GET', `/messages/${m.id}/receipts`)).json().data;
    expect(initial).toEqual([
      { user_id: bob.user.id, status: 'sent', at: null },
      { user_id: carol.user.id, status: 'sent', at: null },
    ]);
    await call(app, bob, 'POST', `/conversations/${g.id}/read`, { seq: m.seq });
    await call(app, carol, 'POST', `/conversations/${g.id}/delivered`, { seq: m.seq });
    const after = (await call(app, alice, 'GET', `/messages/${m.id}/receipts`)).json().data;
    expect(after.map((r: { status: string }) => r.status)).toEqual(['read', 'delivered']);
    expect(after.every((r: { at: string | null }) => typeof r.at === 'string')).toBe(true);
  });

  it('shows a member with read receipts off as delivered to others, never read', async () => {
    const g = await createGroup(app, alice, [shy]);
    const m = await sendMessage(app, alice, g.id, 'did you read this?');
    const seen: DomainEventMap['receipt.updated'][] = [];
    const off = app.tma.bus.subscribe('receipt.updated', (e) => {
      seen.push(e);
    });
    await call(app, shy, 'POST', `/conversations/${g.id}/read`, { seq: m.seq });
    off();
    expect(seen[0]?.read_visible).toBe(false);
    const forSender = (await call(app, alice, 'GET', `/messages/${m.id}/receipts`)).json().data;
    expect(forSender).toEqual([{ user_id: shy.user.id, status: 'delivered', at: expect.any(String) }]);
    // Their own unread count still follows their read watermark.
    expect(await unread(shy, g.id)).toBe(0);
  });

  it('answers 404 to non-members and unknown messages', async () => {
    const g = await createGroup(app, alice, [bob]);
    const m = await sendMessage(app, alice, g.id, 'x');
    expect((await call(app, outsider, 'GET', `/messages/${m.id}/receipts`)).statusCode).toBe(404);
    expect((await call(app, bob, 'GET', `/messages/${randomUUID()}/receipts`)).statusCode).toBe(404);
  });
});
