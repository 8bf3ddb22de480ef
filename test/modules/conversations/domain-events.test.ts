import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEventName } from '../../../src/events/bus.js';
import { buildTestApp } from '../../helpers/app.js';
import { createDm, createGroup, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';
import { call } from './messaging-helpers.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

const NAMES: DomainEventName[] = [
  'conversation.created',
  'conversation.updated',
  'member.added',
  'member.removed',
  'member.updated',
  'member.muted',
  'message.created',
  'message.updated',
  'message.deleted',
  'receipt.updated',
];

/** Records every messaging domain event published while `work` runs. */
async function record(work: () => Promise<unknown>): Promise<Array<[string, Record<string, unknown>]>> {
  const seen: Array<[string, Record<string, unknown>]> = [];
  const offs = NAMES.map((name) =>
    app.tma.bus.subscribe(name, (payload) => {
      seen.push([name, payload as unknown as Record<string, unknown>]);
    }),
  );
  try {
    await work();
  } finally {
    for (const off of offs) off();
  }
  return seen;
}

beforeAll(async () => {
  app = await buildTestApp();
  [alice, bob, carol] = await Promise.all([createUser(app), createUser(app), createUser(app)]);
});
afterAll(async () => {
  await app.close();
});

describe('domain events', () => {
  it('conversation.created for a new DM only (not for get-or-create of an existing one)', async () => {
    const first = await record(() => createDm(app, alice, carol));
    expect(first).toEqual([
      [
        'conversation.created',
        {
          conversation_id: expect.any(String),
          member_ids: [alice.user.id, carol.user.id],
          actor_id: alice.user.id,
        },
      ],
    ]);
    expect(await record(() => createDm(app, carol, alice))).toEqual([]);
  });

  it('membership and settings changes publish their events with the seqs of their event rows', async () => {
    let id = '';
    const created = await record(async () => {
      id = (await createGroup(app, alice, [bob])).id;
    });
    expect(created.map(([n]) => n)).toEqual(['conversation.created']);

    const added = await record(() =>
      call(app, alice, 'POST', `/conversations/${id}/members`, { member_ids: [carol.user.id] }),
    );
    expect(added).toEqual([
      ['member.added', { conversation_id: id, seq: 1, user_ids: [carol.user.id], actor_id: alice.user.id }],
      [
        'message.created',
        { message: expect.objectContaining({ seq: 2, type: 'system', conversation_id: id }) },
      ],
    ]);

    const renamed = await record(() =>
      call(app, alice, 'PATCH', `/conversations/${id}`, { name: 'Renamed' }),
    );
    expect(renamed.map(([n, p]) => [n, p.seq ?? (p.message as { seq: number }).seq])).toEqual([
      ['conversation.updated', 3],
      ['message.created', 4],
    ]);

    const role = await record(() =>
      call(app, alice, 'PATCH', `/conversations/${id}/members/${bob.user.id}`, { role: 'admin' }),
    );
    expect(role).toEqual([
      [
        'member.updated',
        { conversation_id: id, seq: 5, user_id: bob.user.id, role: 'admin', actor_id: alice.user.id },
      ],
    ]);

    const left = await record(() =>
      call(app, carol, 'DELETE', `/conversations/${id}/members/${carol.user.id}`),
    );
    expect(left[0]).toEqual([
      'member.removed',
      { conversation_id: id, seq: 6, user_id: carol.user.id, actor_id: carol.user.id, reason: 'left' },
    ]);

    const muted = await record(() => call(app, bob, 'PUT', `/conversations/${id}/mute`, { forever: true }));
    expect(muted).toEqual([
      [
        'member.muted',
        { conversation_id: id, user_id: bob.user.id, muted_until: '9999-12-31T23:59:59.000Z' },
      ],
    ]);
  });

  it('publishes nothing when a request fails', async () => {
    const g = await createGroup(app, alice, [bob]);
    const failed = await record(async () => {
      await call(app, bob, 'PATCH', `/conversations/${g.id}`, { name: 'no rights' });
      await call(app, carol, 'POST', `/conversations/${g.id}/messages`, { content: 'not a member' });
      await call(app, bob, 'POST', `/conversations/${g.id}/messages`, { content: '' });
      await call(app, bob, 'PATCH', `/conversations/${g.id}/members/${bob.user.id}`, { role: 'admin' });
    });
    expect(failed).toEqual([]);
  });
});

describe('content hooks', () => {
  it('run inside the send and edit transactions; a failing hook rolls the write back', async () => {
    const g = await createGroup(app, alice, [bob]);
    const calls: string[] = [];
    let fail = false;
    app.tma.services.messages.onContentWritten(async (trx, written) => {
      if (written.conversation_id !== g.id) return;
      // The row is visible inside the transaction.
      const row = await trx
        .selectFrom('messages')
        .select('content')
        .where('id', '=', written.message_id)
        .executeTakeFirst();
      calls.push(`${written.kind}:${row?.content}`);
      if (fail) throw new Error('hook failed');
    });
    const m = await sendMessage(app, alice, g.id, 'hooked');
    await call(app, alice, 'PATCH', `/messages/${m.id}`, { content: 'hooked again' });
    expect(calls).toEqual(['created:hooked', 'edited:hooked again']);
    fail = true;
    const res = await call(app, alice, 'POST', `/conversations/${g.id}/messages`, { content: 'rolled back' });
    expect(res.statusCode).toBe(500);
    const view = (await call(app, alice, 'GET', `/conversations/${g.id}`)).json().data;
    expect(view.last_seq).toBe(m.seq + 1);
    expect(view.last_message.content).toBe('hooked again');
  });
});

describe('deactivated users', () => {
  it('cannot be opened a DM with (404)', async () => {
    const gone = await createUser(app);
    await app.tma.db
      .updateTable('users')
      .set({ deactivated_at: new Date() })
      .where('id', '=', gone.user.id)
      .execute();
    const res = await call(app, alice, 'POST', '/conversations', { type: 'dm', member_ids: [gone.user.id] });
    expect(res.statusCode).toBe(404);
  });
});
