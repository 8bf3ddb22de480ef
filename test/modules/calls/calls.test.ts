// /calls: every client event and its errors, server events to every device, the call message, history.
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEventMap, MessageView } from '../../../src/events/domain-events.js';
import { buildTestApp } from '../../helpers/app.js';
import { createDm, createGroup, createUser, type TestUser } from '../../helpers/factories.js';
import { barrier, closeAllSockets, collect, connectSocket, nextEvent } from '../../helpers/sockets.js';
import {
  type CallEvent,
  type CallView,
  callsSocket,
  getCall,
  history,
  ok,
  refused,
  startCall,
} from './calls-helpers.js';

let app: FastifyInstance;
const missed: Array<DomainEventMap['call.missed']> = [];
const ended: Array<DomainEventMap['call.ended']> = [];

beforeAll(async () => {
  app = await buildTestApp({ CALL_MAX_PARTICIPANTS: '3' });
  app.tma.bus.subscribe('call.missed', (e) => void missed.push(e));
  app.tma.bus.subscribe('call.ended', (e) => void ended.push(e));
});
afterEach(() => closeAllSockets());
afterAll(async () => {
  await app.close();
});

/** Two fresh users with a DM and a /calls socket each (the callee with two devices). */
async function pair() {
  const [a, b] = await Promise.all([createUser(app), createUser(app)]);
  const dm = await createDm(app, a, b);
  const [caller, callee, calleeOther] = await Promise.all([
    callsSocket(app, a),
    callsSocket(app, b),
    callsSocket(app, b),
  ]);
  return { a, b, dm, caller, callee, calleeOther };
}

/** A DM call rung and answered on the callee's first device. */
async function answered() {
  const p = await pair();
  const ringing = nextEvent<CallEvent>(p.callee, 'call_ringing');
  const call = await startCall(p.caller, p.dm.id);
  await ringing;
  const accepted = nextEvent<CallEvent>(p.caller, 'call_accepted');
  await ok(p.callee, 'call_accept', { call_id: call.id });
  await accepted;
  return { ...p, call };
}

describe('call_start', () => {
  it('rings every device of the callee and answers {call, ice_servers}', async () => {
    const { a, b, dm, caller, callee, calleeOther } = await pair();
    const rings = [callee, calleeOther].map((s) => nextEvent<CallEvent>(s, 'call_ringing'));
    const data = await ok<{ call: CallView; ice_servers: unknown[] }>(caller, 'call_start', {
      conversation_id: dm.id,
      media: 'video',
    });
    expect(data.call).toMatchObject({
      conversation_id: dm.id,
      status: 'ringing',
      media: 'video',
      initiator_id: a.user.id,
    });
    expect(Array.isArray(data.ice_servers)).toBe(true);
    for (const ring of await Promise.all(rings)) {
      expect(ring.call.id).toBe(data.call.id);
      expect(ring.from_user_id).toBe(a.user.id);
    }
    expect(data.call.participants.map((p) => [p.user_id, p.status])).toEqual(
      expect.arrayContaining([
        [a.user.id, 'joined'],
        [b.user.id, 'invited'],
      ]),
    );
  });

  it('refuses a non-member with not_found', async () => {
    const { dm } = await pair();
    const outsider = await createUser(app);
    expect(
      await refused(await callsSocket(app, outsider), 'call_start', {
        conversation_id: dm.id,
        media: 'audio',
      }),
    ).toBe('not_found');
  });

  it('refuses malformed payloads and unknown events', async () => {
    const { caller, dm } = await pair();
    expect(await refused(caller, 'call_start', { conversation_id: 'nope', media: 'audio' })).toBe(
      'validation_error',
    );
    expect(await refused(caller, 'call_start', { conversation_id: dm.id, media: 'hologram' })).toBe(
      'validation_error',
    );
    expect(await refused(caller, 'call_start', { conversation_id: dm.id, media: 'audio', extra: 1 })).toBe(
      'validation_error',
    );
    expect(await refused(caller, 'call_start')).toBe('validation_error');
    expect(await refused(caller, 'call_accept', 'not an object')).toBe('validation_error');
    expect(
      await refused(caller, 'call_signal', { call_id: dm.id, to_user_id: dm.id, signal: { type: 'x' } }),
    ).toBe('validation_error');
    expect(await refused(caller, 'call_teleport', {})).toBe('unknown_event');
  });

  it('answers busy when the callee is in another call, and call_in_progress for a second call here', async () => {
    const { b, dm, caller } = await answered();
    const third = await createUser(app);
    const dm2 = await createDm(app, third, b);
    expect(
      await refused(await callsSocket(app, third), 'call_start', { conversation_id: dm2.id, media: 'audio' }),
    ).toBe('busy');
    expect(await refused(caller, 'call_start', { conversation_id: dm.id, media: 'audio' })).toBe(
      'already_in_call',
    );
  });

  it('refuses blocked users either way (403 blocked)', async () => {
    const { a, b, dm, caller, callee } = await pair();
    const res = await app.inject({ method: 'PUT', url: `/api/v1/blocks/${a.user.id}`, headers: b.headers });
    expect(res.statusCode, res.body).toBeLessThan(300);
    expect(await refused(caller, 'call_start', { conversation_id: dm.id, media: 'audio' })).toBe('blocked');
    expect(await refused(callee, 'call_start', { conversation_id: dm.id, media: 'audio' })).toBe('blocked');
  });
});

describe('call_accept', () => {
  it('tells the caller call_accepted and the other devices call_answered_elsewhere', async () => {
    const { b, dm, caller, callee, calleeOther } = await pair();
    const call = await startCall(caller, dm.id);
    const accepted = nextEvent<CallEvent>(caller, 'call_accepted');
    const elsewhere = nextEvent<CallEvent>(calleeOther, 'call_answered_elsewhere');
    const leakedToAnswerer = collect(callee, 'call_answered_elsewhere');
    const data = await ok(callee, 'call_accept', { call_id: call.id });
    expect(data.call).toMatchObject({ status: 'active' });
    expect((await accepted).user_id).toBe(b.user.id);
    expect((await elsewhere).call.id).toBe(call.id);
    await barrier(await connectSocket(app, b.token));
    expect(leakedToAnswerer).toEqual([]);
  });

  it('answers already_answered to a second accept (double accept)', async () => {
    const { call, calleeOther, callee } = await answered();
    expect(await refused(calleeOther, 'call_accept', { call_id: call.id })).toBe('already_answered');
    expect(await refused(callee, 'call_accept', { call_id: call.id })).toBe('already_answered');
  });

  it('answers call_ended after the caller cancelled, and leaves the callee a missed call', async () => {
    const { b, dm, caller, callee } = await pair();
    const call = await startCall(caller, dm.id);
    const cancelled = nextEvent<CallEvent>(callee, 'call_ended');
    await ok(caller, 'call_end', { call_id: call.id });
    expect((await cancelled).reason).toBe('cancelled');
    expect(await refused(callee, 'call_accept', { call_id: call.id })).toBe('call_ended');
    expect(missed.find((m) => m.call_id === call.id)?.user_ids).toEqual([b.user.id]);
    const [mine] = await history(app, b, `?conversation_id=${dm.id}`);
    expect(mine).toMatchObject({ id: call.id, status: 'ended', end_reason: 'cancelled', duration_ms: null });
  });

  it('refuses a non-participant with not_found', async () => {
    const { dm, caller } = await pair();
    const call = await startCall(caller, dm.id);
    const outsider = await createUser(app);
    expect(await refused(await callsSocket(app, outsider), 'call_accept', { call_id: call.id })).toBe(
      'not_found',
    );
  });
});

describe('call_decline', () => {
  it('ends a DM call as declined for both sides', async () => {
    const { b, dm, caller, callee } = await pair();
    const call = await startCall(caller, dm.id);
    const declined = nextEvent<CallEvent>(caller, 'call_declined');
    const over = nextEvent<CallEvent>(caller, 'call_ended');
    await ok(callee, 'call_decline', { call_id: call.id });
    expect((await declined).user_id).toBe(b.user.id);
    expect((await over).reason).toBe('declined');
    expect(await refused(callee, 'call_decline', { call_id: call.id })).toBe('call_ended');
  });
});

describe('call_signal', () => {
  it('relays offers, answers and candidates to the answering device only', async () => {
    const { a, b, call, caller, callee, calleeOther } = await answered();
    const otherDevice = collect(calleeOther, 'call_signal');
    const got = nextEvent<{ call_id: string; from_user_id: string; signal: { type: string; sdp: string } }>(
      callee,
      'call_signal',
    );
    await ok(caller, 'call_signal', {
      call_id: call.id,
      to_user_id: b.user.id,
      signal: { type: 'offer', sdp: 'v=0' },
    });
    expect(await got).toEqual({
      call_id: call.id,
      from_user_id: a.user.id,
      signal: { type: 'offer', sdp: 'v=0' },
    });
    const back = nextEvent<{ signal: { type: string } }>(caller, 'call_signal');
    await ok(callee, 'call_signal', {
      call_id: call.id,
      to_user_id: a.user.id,
      signal: {
        type: 'candidate',
        candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0' },
      },
    });
    expect((await back).signal.type).toBe('candidate');
    await barrier(await connectSocket(app, b.token));
    expect(otherDevice).toEqual([]);
  });

  it('refuses outsiders (not_found), a ringing invitee (not_in_call) and a peer not in the call', async () => {
    const { a, b, dm, caller, callee } = await pair();
    const call = await startCall(caller, dm.id);
    const outsider = await createUser(app);
    const signal = { type: 'offer', sdp: 'v=0' };
    expect(
      await refused(await callsSocket(app, outsider), 'call_signal', {
        call_id: call.id,
        to_user_id: a.user.id,
        signal,
      }),
    ).toBe('not_found');
    expect(await refused(callee, 'call_signal', { call_id: call.id, to_user_id: a.user.id, signal })).toBe(
      'not_in_call',
    );
    expect(await refused(caller, 'call_signal', { call_id: call.id, to_user_id: b.user.id, signal })).toBe(
      'peer_not_in_call',
    );
  });

  it('refuses a signal over 64 KB with payload_too_large', async () => {
    const { b, call, caller } = await answered();
    const fits = 'a'.repeat(60 * 1024);
    await ok(caller, 'call_signal', {
      call_id: call.id,
      to_user_id: b.user.id,
      signal: { type: 'offer', sdp: fits },
    });
    const sdp = 'a'.repeat(64 * 1024);
    expect(
      await refused(caller, 'call_signal', {
        call_id: call.id,
        to_user_id: b.user.id,
        signal: { type: 'offer', sdp },
      }),
    ).toBe('payload_too_large');
    const candidate = { candidate: 'c'.repeat(65 * 1024) };
    expect(
      await refused(caller, 'call_signal', {
        call_id: call.id,
        to_user_id: b.user.id,
        signal: { type: 'candidate', candidate },
      }),
    ).toBe('payload_too_large');
  });
});

describe('call_end and the call message', () => {
  it('the caller ends: completed, a `call` message with seq and duration, history for both', async () => {
    const { a, b, dm, call, caller, callee } = await answered();
    const messaging = await connectSocket(app, b.token);
    const message = nextEvent<MessageView>(messaging, 'new_message', (m) => m.type === 'call');
    const over = nextEvent<CallEvent>(callee, 'call_ended');
    const data = await ok(caller, 'call_end', { call_id: call.id });
    expect(data.call).toMatchObject({ status: 'ended', end_reason: 'completed' });
    expect((await over).reason).toBe('completed');
    const msg = await message;
    expect(msg).toMatchObject({ conversation_id: dm.id, type: 'call', sender_id: a.user.id });
    expect(msg.seq).toBeGreaterThan(0);
    expect(msg.metadata).toMatchObject({ call_id: call.id, reason: 'completed' });
    expect(msg.content).toMatch(/^Audio call, \d+:\d\d$/);
    for (const user of [a, b]) {
      const [entry] = await history(app, user);
      expect(entry).toMatchObject({ id: call.id, message_id: msg.id, end_reason: 'completed' });
      expect(entry?.duration_ms).toBeGreaterThanOrEqual(0);
    }
    expect(ended.find((e) => e.call.id === call.id)).toMatchObject({ reason: 'completed', seq: msg.seq });
    expect(await refused(caller, 'call_end', { call_id: call.id })).toBe('call_ended');
  });

  it('the callee ends a DM call too', async () => {
    const { call, caller, callee } = await answered();
    const over = nextEvent<CallEvent>(caller, 'call_ended');
    await ok(callee, 'call_end', { call_id: call.id });
    expect((await over).reason).toBe('completed');
  });

  it('leaving a DM call ends it', async () => {
    const { call, caller, callee } = await answered();
    const over = nextEvent<CallEvent>(callee, 'call_ended');
    await ok(caller, 'call_leave', { call_id: call.id });
    expect((await over).reason).toBe('completed');
  });
});

describe('group calls', () => {
  it('join, leave, decline, the size cap, and only the caller ends it for everyone', async () => {
    const users = await Promise.all([1, 2, 3, 4, 5].map(() => createUser(app)));
    const [owner, m1, m2, m3, m4] = users as [TestUser, TestUser, TestUser, TestUser, TestUser];
    const group = await createGroup(app, owner, [m1, m2, m3, m4]);
    const [s0, s1, s2, s3, s4] = await Promise.all(users.map((u) => callsSocket(app, u)));
    const rings = [s1, s2, s3, s4].map((s) => nextEvent<CallEvent>(s!, 'call_ringing'));
    const call = await startCall(s0!, group.id);
    await Promise.all(rings);

    const accepted = nextEvent<CallEvent>(s0!, 'call_accepted');
    await ok(s1!, 'call_accept', { call_id: call.id });
    expect((await accepted).user_id).toBe(m1.user.id);
    const joined = nextEvent<CallEvent>(s0!, 'call_participant_joined');
    await ok(s2!, 'call_join', { call_id: call.id });
    expect((await joined).user_id).toBe(m2.user.id);
    // CALL_MAX_PARTICIPANTS=3 in this app.
    expect(await refused(s3!, 'call_join', { call_id: call.id })).toBe('call_full');
    const declined = nextEvent<CallEvent>(s0!, 'call_declined');
    await ok(s4!, 'call_decline', { call_id: call.id });
    expect((await declined).user_id).toBe(m4.user.id);

    expect(await refused(s1!, 'call_end', { call_id: call.id })).toBe('not_call_owner');
    const left = nextEvent<CallEvent>(s0!, 'call_participant_left');
    await ok(s2!, 'call_leave', { call_id: call.id });
    expect(await left).toMatchObject({ user_id: m2.user.id, reason: 'left' });
    expect(await refused(s2!, 'call_leave', { call_id: call.id })).toBe('not_in_call');
    await ok(s3!, 'call_join', { call_id: call.id });

    const over = nextEvent<CallEvent>(s3!, 'call_ended');
    await ok(s0!, 'call_end', { call_id: call.id });
    expect((await over).reason).toBe('completed');
    const view = (await getCall(app, m4, call.id)).json().data as CallView;
    expect(Object.fromEntries(view.participants.map((p) => [p.user_id, p.status]))).toEqual({
      [owner.user.id]: 'left',
      [m1.user.id]: 'left',
      [m2.user.id]: 'left',
      [m3.user.id]: 'left',
      [m4.user.id]: 'declined',
    });
  });

  it('ends when the last participant leaves', async () => {
    const [owner, m1] = await Promise.all([createUser(app), createUser(app)]);
    const group = await createGroup(app, owner, [m1]);
    const [s0, s1] = await Promise.all([callsSocket(app, owner), callsSocket(app, m1)]);
    const call = await startCall(s0, group.id);
    await ok(s1, 'call_accept', { call_id: call.id });
    await ok(s0, 'call_leave', { call_id: call.id });
    const over = nextEvent<CallEvent>(s0, 'call_ended');
    await ok(s1, 'call_leave', { call_id: call.id });
    expect((await over).reason).toBe('completed');
  });
});

describe('GET /calls/{id} and GET /calls', () => {
  it('answers 404 to outsiders and 200 to members', async () => {
    const { a, dm, caller } = await pair();
    const call = await startCall(caller, dm.id);
    const outsider = await createUser(app);
    expect((await getCall(app, outsider, call.id)).statusCode).toBe(404);
    expect((await getCall(app, a, call.id)).json().data.id).toBe(call.id);
    expect(await history(app, outsider)).toEqual([]);
    expect((await getCall(app, a, '00000000-0000-7000-8000-000000000000')).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/api/v1/calls/${call.id}` })).statusCode).toBe(401);
  });

  it('pages with a cursor, newest first', async () => {
    const { a, dm, caller } = await pair();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const call = await startCall(caller, dm.id);
      await ok(caller, 'call_end', { call_id: call.id });
      ids.push(call.id);
    }
    const first = await app.inject({ method: 'GET', url: '/api/v1/calls?limit=2', headers: a.headers });
    const body = first.json();
    expect(body.data.map((c: CallView) => c.id)).toEqual([ids[2], ids[1]]);
    expect(body.pagination.has_more).toBe(true);
    const next = await history(app, a, `?limit=2&cursor=${body.pagination.next_cursor}`);
    expect(next.map((c) => c.id)).toEqual([ids[0]]);
    const bad = await app.inject({ method: 'GET', url: '/api/v1/calls?cursor=zzz', headers: a.headers });
    expect(bad.statusCode).toBe(400);
  });
});
