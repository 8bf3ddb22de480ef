// The server owns the call's clock: ring timeout -> missed (even with every client gone), the reconnect grace,
// and the sweeper for calls whose instance died.
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DomainEventMap } from '../../../src/events/domain-events.js';
import { buildTestApp } from '../../helpers/app.js';
import { createDm, createUser } from '../../helpers/factories.js';
import { closeAllSockets, nextEvent } from '../../helpers/sockets.js';
import { type CallEvent, callsSocket, getCall, history, ok, startCall } from './calls-helpers.js';

let app: FastifyInstance;
const missed: Array<DomainEventMap['call.missed']> = [];

beforeAll(async () => {
  app = await buildTestApp({
    CALL_RING_TIMEOUT_MS: '1000',
    CALL_RECONNECT_GRACE_MS: '1000',
    JOB_POLL_INTERVAL_MS: '500',
  });
  app.tma.bus.subscribe('call.missed', (e) => void missed.push(e));
});
afterEach(() => closeAllSockets());
afterAll(async () => {
  await app.close();
});

async function pair() {
  const [a, b] = await Promise.all([createUser(app), createUser(app)]);
  const dm = await createDm(app, a, b);
  return { a, b, dm, caller: await callsSocket(app, a), callee: await callsSocket(app, b) };
}

describe('ring timeout (CALL_RING_TIMEOUT_MS=1000)', () => {
  it('an unanswered call becomes missed, with a call message, for the callee', async () => {
    const { b, dm, caller, callee } = await pair();
    const call = await startCall(caller, dm.id);
    const over = await nextEvent<CallEvent>(callee, 'call_ended', () => true, 10_000);
    expect(over).toMatchObject({ reason: 'missed' });
    expect(over.call).toMatchObject({ id: call.id, status: 'missed', end_reason: 'missed' });
    expect(missed.find((m) => m.call_id === call.id)).toMatchObject({ user_ids: [b.user.id] });
    const [entry] = await history(app, b);
    expect(entry).toMatchObject({ id: call.id, status: 'missed' });
    const message = await app.inject({
      method: 'GET',
      url: `/api/v1/messages/${entry?.message_id}`,
      headers: b.headers,
    });
    expect(message.json().data).toMatchObject({ type: 'call', content: 'Missed audio call' });
  });

  it('is missed even when every client vanished right after the start', async () => {
    const { a, dm, caller, callee } = await pair();
    const call = await startCall(caller, dm.id);
    caller.close();
    callee.close();
    await vi.waitFor(
      async () => expect((await getCall(app, a, call.id)).json().data).toMatchObject({ status: 'missed' }),
      { timeout: 10_000, interval: 200 },
    );
  });
});

describe('reconnect grace (CALL_RECONNECT_GRACE_MS=1000)', () => {
  it('a participant whose sockets are all gone leaves; in a DM that ends the call', async () => {
    const { b, dm, caller, callee } = await pair();
    const call = await startCall(caller, dm.id);
    await ok(callee, 'call_accept', { call_id: call.id });
    callee.close();
    const over = await nextEvent<CallEvent>(caller, 'call_ended', () => true, 10_000);
    expect(over).toMatchObject({ reason: 'completed' });
    expect(over.call.participants.find((p) => p.user_id === b.user.id)?.status).toBe('left');
  });

  it('a participant back within the grace stays', async () => {
    const { a, b, dm, caller, callee } = await pair();
    const call = await startCall(caller, dm.id);
    await ok(callee, 'call_accept', { call_id: call.id });
    callee.close();
    const again = await callsSocket(app, b);
    await ok(again, 'call_join', { call_id: call.id });
    // The check the disconnect scheduled finds them seen since.
    await app.tma.services.calls.liveness.presenceCheck(call.id, b.user.id);
    expect((await getCall(app, a, call.id)).json().data).toMatchObject({ status: 'active' });
    await ok(again, 'call_end', { call_id: call.id });
  });
});

describe('sweeper', () => {
  it('ends calls whose participants went silent (their instance died)', async () => {
    const { a, dm, caller, callee } = await pair();
    const call = await startCall(caller, dm.id);
    await ok(callee, 'call_accept', { call_id: call.id });
    const { db } = app.tma;
    // What a dead instance leaves behind: nobody refreshes last_seen_at any more.
    const sweptAt = Date.now() + 60_000;
    await db
      .updateTable('call_participants')
      .set({ last_seen_at: new Date(Date.now() - 3_600_000) })
      .where('call_id', '=', call.id)
      .execute();
    closeAllSockets();
    await app.tma.services.calls.liveness.sweep(sweptAt);
    const view = (await getCall(app, a, call.id)).json().data;
    expect(view).toMatchObject({ status: 'ended', end_reason: 'completed' });
    expect(view.message_id).not.toBeNull();
  });

  it('never leaves a call active with nobody in it', async () => {
    const { a, dm, caller, callee } = await pair();
    const call = await startCall(caller, dm.id);
    await ok(callee, 'call_accept', { call_id: call.id });
    const { db } = app.tma;
    await db
      .updateTable('call_participants')
      .set({ status: 'left' })
      .where('call_id', '=', call.id)
      .execute();
    await app.tma.services.calls.liveness.sweep();
    expect((await getCall(app, a, call.id)).json().data).toMatchObject({ status: 'ended' });
  });

  it('registers its queues and the sweep schedule', async () => {
    const schedules = await app.tma.jobs.schedules();
    expect(schedules.map((s) => s.name)).toContain('calls-sweep');
  });
});
