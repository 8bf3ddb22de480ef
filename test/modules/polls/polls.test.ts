// Polls: create, vote (replace), multiple choice, retract, close, expiry, anonymity, concurrency.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEventMap } from '../../../src/events/domain-events.js';
import { buildTestApp } from '../../helpers/app.js';
import { createDm, createGroup, createUser, type TestUser } from '../../helpers/factories.js';
import { call } from '../conversations/messaging-helpers.js';

let app: FastifyInstance;
let owner: TestUser;
let member: TestUser;
let third: TestUser;
let outsider: TestUser;
let group: { id: string };
const updates: Array<DomainEventMap['poll.updated']> = [];

interface Poll {
  id: string;
  message_id: string;
  closed: boolean;
  total_voters: number;
  options: Array<{ id: string; text: string; count: number; voters?: string[] }>;
  my_option_ids: string[];
}

async function createPoll(body: Record<string, unknown>, by: TestUser = owner): Promise<Poll> {
  const res = await call(app, by, 'POST', `/conversations/${group.id}/polls`, {
    question: 'Lunch?',
    options: ['Pizza', 'Sushi', 'Salad'],
    ...body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().data.poll;
}

const vote = (user: TestUser, poll: Poll, indexes: number[]) =>
  call(app, user, 'POST', `/polls/${poll.id}/votes`, { option_ids: indexes.map((i) => poll.options[i]?.id) });
const counts = (poll: Poll) => poll.options.map((o) => o.count);

beforeAll(async () => {
  app = await buildTestApp();
  app.tma.bus.subscribe('poll.updated', (e) => {
    updates.push(e);
  });
  [owner, member, third, outsider] = await Promise.all([
    createUser(app),
    createUser(app),
    createUser(app),
    createUser(app),
  ]);
  group = await createGroup(app, owner, [member, third]);
});
afterAll(async () => {
  await app.close();
});

describe('POST /conversations/{id}/polls', () => {
  it('creates a poll message and returns {message, poll}', async () => {
    const res = await call(app, member, 'POST', `/conversations/${group.id}/polls`, {
      question: ' Where to? ',
      options: ['Beach', 'Mountains'],
      multiple_choice: true,
    });
    expect(res.statusCode).toBe(201);
    const { message, poll } = res.json().data;
    expect(message).toMatchObject({ type: 'poll', content: 'Where to?', conversation_id: group.id });
    expect(message.metadata).toEqual({ poll_id: poll.id });
    expect(poll).toMatchObject({
      message_id: message.id,
      question: 'Where to?',
      multiple_choice: true,
      anonymous: false,
      closed: false,
      expires_at: null,
      total_voters: 0,
      my_option_ids: [],
    });
    expect(poll.options.map((o: { text: string; position: number }) => [o.text, o.position])).toEqual([
      ['Beach', 0],
      ['Mountains', 1],
    ]);
    const history = await call(app, owner, 'GET', `/conversations/${group.id}/messages?limit=1`);
    expect(history.json().data[0].id).toBe(message.id);
  });

  it('returns the same poll for a retry with the same client_id', async () => {
    const body = {
      question: 'Once?',
      options: ['a', 'b'],
      client_id: '0190f000-0000-7000-8000-00000000abcd',
    };
    const first = await call(app, owner, 'POST', `/conversations/${group.id}/polls`, body);
    const again = await call(app, owner, 'POST', `/conversations/${group.id}/polls`, body);
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(200);
    expect(again.json().data.poll.id).toBe(first.json().data.poll.id);
  });

  it('answers 400 to bad input: 1 or 13 options, duplicates, blank text, past expiry, unknown fields', async () => {
    const bad: Array<Record<string, unknown>> = [
      { question: 'Q', options: ['only one'] },
      { question: 'Q', options: Array.from({ length: 13 }, (_, i) => `o${i}`) },
      { question: 'Q', options: ['Same', 'same'] },
      { question: '   ', options: ['a', 'b'] },
      { question: 'Q', options: ['a', ' '] },
      { question: 'Q', options: ['a', 'b'], expires_at: new Date(Date.now() - 1000).toISOString() },
      { question: 'x'.repeat(301), options: ['a', 'b'] },
      { question: 'Q', options: ['a', 'x'.repeat(101)] },
      { question: 'Q', options: ['a', 'b'], extra: true },
      { options: ['a', 'b'] },
    ];
    for (const body of bad) {
      const res = await call(app, owner, 'POST', `/conversations/${group.id}/polls`, body);
      expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
    }
  });

  it('refuses a poll into a DM where one side blocked the other (403 blocked)', async () => {
    const dm = await createDm(app, member, outsider);
    const blocked = await call(app, outsider, 'PUT', `/blocks/${member.user.id}`);
    expect(blocked.statusCode).toBeLessThan(300);
    const res = await call(app, member, 'POST', `/conversations/${dm.id}/polls`, {
      question: 'Q',
      options: ['a', 'b'],
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('blocked');
  });

  it('answers 404 to non-members and 401 without a token', async () => {
    const body = { question: 'Q', options: ['a', 'b'] };
    expect((await call(app, outsider, 'POST', `/conversations/${group.id}/polls`, body)).statusCode).toBe(
      404,
    );
    expect((await call(app, null, 'POST', `/conversations/${group.id}/polls`, body)).statusCode).toBe(401);
  });
});

describe('voting', () => {
  it('single choice: a new vote replaces the old one; one poll.updated per change', async () => {
    const poll = await createPoll({});
    const first = await vote(member, poll, [0]);
    expect(first.statusCode).toBe(200);
    expect(counts(first.json().data)).toEqual([1, 0, 0]);
    const changed = await vote(member, poll, [2]);
    expect(counts(changed.json().data)).toEqual([0, 0, 1]);
    expect(changed.json().data.my_option_ids).toEqual([poll.options[2]?.id]);
    const same = await vote(member, poll, [2]);
    expect(counts(same.json().data)).toEqual([0, 0, 1]);
    const events = updates.filter((e) => e.poll_id === poll.id);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ conversation_id: group.id, message_id: poll.message_id });
    expect(events[1]?.seq).toBeGreaterThan(events[0]?.seq ?? 0);
  });

  it('single choice refuses two options (422) and unknown options (422)', async () => {
    const poll = await createPoll({});
    const two = await vote(member, poll, [0, 1]);
    expect(two.statusCode).toBe(422);
    expect(two.json().error.code).toBe('single_choice');
    const other = await createPoll({});
    const foreign = await call(app, member, 'POST', `/polls/${poll.id}/votes`, {
      option_ids: [other.options[0]?.id],
    });
    expect(foreign.statusCode).toBe(422);
    expect(foreign.json().error.code).toBe('invalid_option');
  });

  it('multiple choice accumulates across voters and replaces per voter', async () => {
    const poll = await createPoll({ multiple_choice: true });
    await vote(member, poll, [0, 1]);
    const res = await vote(third, poll, [1, 2]);
    expect(counts(res.json().data)).toEqual([1, 2, 1]);
    expect(res.json().data.total_voters).toBe(2);
    const replaced = await vote(member, poll, [2]);
    expect(counts(replaced.json().data)).toEqual([0, 1, 2]);
    expect(replaced.json().data.options[2].voters.sort()).toEqual([member.user.id, third.user.id].sort());
  });

  it('retracts a vote, idempotently', async () => {
    const poll = await createPoll({});
    await vote(member, poll, [1]);
    const res = await call(app, member, 'DELETE', `/polls/${poll.id}/votes`);
    expect(res.statusCode).toBe(200);
    expect(counts(res.json().data)).toEqual([0, 0, 0]);
    expect(res.json().data.my_option_ids).toEqual([]);
    expect((await call(app, member, 'DELETE', `/polls/${poll.id}/votes`)).statusCode).toBe(200);
    expect(updates.filter((e) => e.poll_id === poll.id)).toHaveLength(2);
  });

  it('counts 100 concurrent voters exactly', async () => {
    const voters = await Promise.all(Array.from({ length: 100 }, () => createUser(app)));
    const room = await createGroup(app, owner, voters, { name: 'Big vote' });
    const res = await call(app, owner, 'POST', `/conversations/${room.id}/polls`, {
      question: 'Colour?',
      options: ['Red', 'Green', 'Blue'],
    });
    const poll: Poll = res.json().data.poll;
    // Everyone votes at once; a third of them change their mind at once too.
    const results = await Promise.all(voters.map((v, i) => vote(v, poll, [i % 3])));
    expect(results.every((r) => r.statusCode === 200)).toBe(true);
    await Promise.all(voters.slice(0, 30).map((v) => vote(v, poll, [2])));
    const final = (await call(app, owner, 'GET', `/polls/${poll.id}`)).json().data as Poll;
    const expected = [0, 0, 0];
    voters.forEach((_, i) => {
      expected[i < 30 ? 2 : i % 3] = (expected[i < 30 ? 2 : i % 3] ?? 0) + 1;
    });
    expect(counts(final)).toEqual(expected);
    expect(final.total_voters).toBe(100);
  });
});

describe('closing and expiry', () => {
  it('the creator closes the poll; closed polls refuse votes and retractions with 409 poll_closed', async () => {
    const poll = await createPoll({});
    await vote(member, poll, [0]);
    const closed = await call(app, owner, 'POST', `/polls/${poll.id}/close`);
    expect(closed.statusCode).toBe(200);
    expect(closed.json().data.closed).toBe(true);
    expect(closed.json().data.closed_at).not.toBeNull();
    const late = await vote(third, poll, [1]);
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe('poll_closed');
    expect((await call(app, member, 'DELETE', `/polls/${poll.id}/votes`)).statusCode).toBe(409);
    expect((await call(app, owner, 'POST', `/polls/${poll.id}/close`)).statusCode).toBe(200);
    expect(counts((await call(app, third, 'GET', `/polls/${poll.id}`)).json().data)).toEqual([1, 0, 0]);
  });

  it("a group admin may close a member's poll; another member may not (403)", async () => {
    const poll = await createPoll({}, member);
    const denied = await call(app, third, 'POST', `/polls/${poll.id}/close`);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('not_allowed');
    expect((await call(app, owner, 'POST', `/polls/${poll.id}/close`)).json().data.closed).toBe(true);
  });

  it('expired polls refuse votes with 409 poll_closed', async () => {
    const poll = await createPoll({ expires_at: new Date(Date.now() + 3_600_000).toISOString() });
    expect((await vote(member, poll, [0])).statusCode).toBe(200);
    await app.tma.db
      .updateTable('polls')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', poll.id)
      .execute();
    const res = await vote(third, poll, [1]);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('poll_closed');
    expect((await call(app, member, 'GET', `/polls/${poll.id}`)).json().data.closed).toBe(true);
  });
});

describe('anonymous polls', () => {
  it('never reveal voters: no voters in views, no actor in the event log', async () => {
    const poll = await createPoll({ anonymous: true, multiple_choice: true });
    await vote(member, poll, [0, 1]);
    const res = await vote(third, poll, [1]);
    const view = res.json().data;
    expect(counts(view)).toEqual([1, 2, 0]);
    expect(view.my_option_ids).toEqual([poll.options[1]?.id]);
    for (const option of view.options) expect(option).not.toHaveProperty('voters');
    const fetched = await call(app, owner, 'GET', `/polls/${poll.id}`);
    expect(JSON.stringify(fetched.json())).not.toContain(member.user.id);
    expect(JSON.stringify(fetched.json())).not.toContain(third.user.id);
    const events = await call(app, owner, 'GET', `/conversations/${group.id}/events?after_seq=0&limit=100`);
    const pollEvents = events
      .json()
      .data.filter(
        (e: { type: string; message_id: string }) =>
          e.type === 'poll.updated' && e.message_id === poll.message_id,
      );
    expect(pollEvents).toHaveLength(2);
    for (const e of pollEvents) expect(e.actor_id).toBeNull();
  });

  it('non-anonymous polls show who voted for what', async () => {
    const poll = await createPoll({});
    const res = await vote(member, poll, [0]);
    expect(res.json().data.options[0].voters).toEqual([member.user.id]);
  });
});

describe('access', () => {
  it('answers 404 to non-members for every poll endpoint, and for unknown polls', async () => {
    const poll = await createPoll({});
    expect((await call(app, outsider, 'GET', `/polls/${poll.id}`)).statusCode).toBe(404);
    expect((await vote(outsider, poll, [0])).statusCode).toBe(404);
    expect((await call(app, outsider, 'DELETE', `/polls/${poll.id}/votes`)).statusCode).toBe(404);
    expect((await call(app, outsider, 'POST', `/polls/${poll.id}/close`)).statusCode).toBe(404);
    expect((await call(app, owner, 'GET', '/polls/0190f000-0000-7000-8000-000000000000')).statusCode).toBe(
      404,
    );
  });

  it('answers 400 to malformed ids and vote bodies', async () => {
    const poll = await createPoll({});
    expect((await call(app, owner, 'GET', '/polls/nope')).statusCode).toBe(400);
    for (const body of [{}, { option_ids: [] }, { option_ids: ['x'] }, { option_ids: 'a' }]) {
      expect((await call(app, member, 'POST', `/polls/${poll.id}/votes`, body)).statusCode).toBe(400);
    }
  });
});
