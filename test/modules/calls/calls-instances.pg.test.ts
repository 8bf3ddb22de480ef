// Calls across two instances sharing PostgreSQL and Redis: ringing, answers, signals and the end cross through the
// adapter; the ring timeout still makes a call missed after the instance that started it is gone.
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, sharedBackends } from '../../helpers/app.js';
import { createDm, createUser } from '../../helpers/factories.js';
import { closeAllSockets, collect, nextEvent } from '../../helpers/sockets.js';
import { type CallEvent, callsSocket, getCall, history, ok, startCall } from './calls-helpers.js';

const SETTINGS = {
  CALL_RING_TIMEOUT_MS: '1500',
  CALL_RECONNECT_GRACE_MS: '1000',
  JOB_POLL_INTERVAL_MS: '500',
};

describe('calls on two instances (needs TEST_DATABASE_URL and TEST_REDIS_URL)', () => {
  let one: FastifyInstance;
  let two: FastifyInstance;
  let shared: Awaited<ReturnType<typeof sharedBackends>>;

  beforeAll(async () => {
    shared = await sharedBackends();
    one = await buildTestApp(SETTINGS, shared);
    two = await buildTestApp(SETTINGS, shared);
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => {
    await Promise.all([one?.close(), two?.close()]);
  });

  it('rings, answers, relays signals and ends across instances', async () => {
    const [a, b] = await Promise.all([createUser(one), createUser(one)]);
    const dm = await createDm(one, a, b);
    const caller = await callsSocket(one, a);
    const [callee, calleeOther] = await Promise.all([callsSocket(two, b), callsSocket(one, b)]);
    const rings = [callee, calleeOther].map((s) => nextEvent<CallEvent>(s, 'call_ringing'));
    const call = await startCall(caller, dm.id);
    for (const ring of await Promise.all(rings)) expect(ring.call.id).toBe(call.id);

    const accepted = nextEvent<CallEvent>(caller, 'call_accepted');
    const elsewhere = nextEvent<CallEvent>(calleeOther, 'call_answered_elsewhere');
    await ok(callee, 'call_accept', { call_id: call.id });
    expect((await accepted).user_id).toBe(b.user.id);
    await elsewhere;

    const otherDevice = collect(calleeOther, 'call_signal');
    const offer = nextEvent<{ signal: { sdp: string } }>(callee, 'call_signal');
    await ok(caller, 'call_signal', {
      call_id: call.id,
      to_user_id: b.user.id,
      signal: { type: 'offer', sdp: 'v=0' },
    });
    expect((await offer).signal.sdp).toBe('v=0');
    const answer = nextEvent<{ signal: { type: string } }>(caller, 'call_signal');
    await ok(callee, 'call_signal', {
      call_id: call.id,
      to_user_id: a.user.id,
      signal: { type: 'answer', sdp: 'v=0' },
    });
    expect((await answer).signal.type).toBe('answer');

    const over = nextEvent<CallEvent>(caller, 'call_ended');
    await ok(callee, 'call_end', { call_id: call.id });
    expect((await over).reason).toBe('completed');
    expect(otherDevice).toEqual([]);
    expect((await history(two, a))[0]).toMatchObject({ id: call.id, end_reason: 'completed' });
  });

  it('a call started on an instance that then stops still ends as missed', async () => {
    const spare = await buildTestApp(SETTINGS, shared);
    const [a, b] = await Promise.all([createUser(spare), createUser(spare)]);
    const dm = await createDm(spare, a, b);
    const caller = await callsSocket(spare, a);
    const callee = await callsSocket(two, b);
    const call = await startCall(caller, dm.id);
    await spare.close();
    const over = await nextEvent<CallEvent>(callee, 'call_ended', () => true, 15_000);
    expect(over).toMatchObject({ reason: 'missed' });
    await vi.waitFor(async () => expect((await getCall(one, b, call.id)).json().data.status).toBe('missed'), {
      timeout: 10_000,
    });
  });
});
