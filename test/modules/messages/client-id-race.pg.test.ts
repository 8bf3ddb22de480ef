// One client_id sent at the same moment through two instances on one PostgreSQL database: both answers are the
// same message (201 for the one that stored it, 200 for the retry), never a 409 from the unique constraint.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, sharedBackends } from '../../helpers/app.js';
import { createGroup, createUser, type TestUser } from '../../helpers/factories.js';
import { call } from '../conversations/messaging-helpers.js';

describe('a client_id raced across two instances (needs TEST_DATABASE_URL)', () => {
  let one: FastifyInstance;
  let two: FastifyInstance;
  let alice: TestUser;
  let bob: TestUser;
  let locker: pg.Client;

  beforeAll(async () => {
    const shared = await sharedBackends();
    one = await buildTestApp({}, shared);
    two = await buildTestApp({}, shared);
    [alice, bob] = await Promise.all([createUser(one), createUser(one)]);
    locker = new pg.Client({ connectionString: shared.databaseUrl });
    await locker.connect();
  });
  afterAll(async () => {
    await locker?.end();
    await Promise.all([one?.close(), two?.close()]);
  });

  /** Batch statements waiting on a lock of the conversation row, in this database. */
  async function waitingOnLocks(): Promise<number> {
    // Activity statistics are a snapshot per transaction; the locker is inside one.
    await locker.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await locker.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%tma_send_batch%'`,
    );
    return Number(rows[0]?.n ?? 0);
  }

  it('answers 201 and 200 with the same message when both batch statements pass the client_id check', async () => {
    for (let round = 0; round < 3; round++) {
      const group = await createGroup(one, alice, [bob]);
      const body = { content: `race ${round}`, client_id: randomUUID() };
      // Hold the conversation's row lock, so that both statements take their snapshot (neither sees the other's
      // message) and then wait; released together, the second one meets the first one's row at its insert.
      await locker.query('BEGIN');
      await locker.query('SELECT id FROM conversations WHERE id = $1 FOR UPDATE', [group.id]);
      const answers = Promise.all(
        [one, two].map((app) => call(app, alice, 'POST', `/conversations/${group.id}/messages`, body)),
      );
      await vi.waitFor(async () => expect(await waitingOnLocks()).toBe(2), { timeout: 10_000, interval: 20 });
      await locker.query('COMMIT');
      const results = await answers;
      expect(results.map((r) => r.statusCode).sort()).toEqual([200, 201]);
      const [a, b] = results.map((r) => r.json().data);
      expect(a.id).toBe(b.id);
      expect(a).toMatchObject({ content: body.content, client_id: body.client_id, seq: 1 });
      const stored = await one.tma.db
        .selectFrom('messages')
        .select('seq')
        .where('conversation_id', '=', group.id)
        .execute();
      expect(stored.map((m) => Number(m.seq))).toEqual([1]);
      // The loser's seq was rolled back with its statement: the next message is seq 2.
      const next = await call(two, bob, 'POST', `/conversations/${group.id}/messages`, { content: 'after' });
      expect(next.json().data.seq).toBe(2);
    }
  });
});
