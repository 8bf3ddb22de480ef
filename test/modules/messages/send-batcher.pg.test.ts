// Two instances batching sends into the same conversations at once, on one PostgreSQL database.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepared } from '../../../src/db/prepared.js';
import { SendBatcher } from '../../../src/modules/messages/send-batcher.js';
import { buildTestApp, sharedBackends } from '../../helpers/app.js';
import { createGroup, createUser, type TestUser } from '../../helpers/factories.js';

describe('batched sends from two instances (needs TEST_DATABASE_URL)', () => {
  let one: FastifyInstance;
  let two: FastifyInstance;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    const shared = await sharedBackends();
    one = await buildTestApp({}, shared);
    two = await buildTestApp({}, shared);
    [alice, bob] = await Promise.all([createUser(one), createUser(one)]);
  });
  afterAll(async () => {
    await Promise.all([one?.close(), two?.close()]);
  });

  it('store every message with gapless seqs when their batches name the same conversations in opposite orders', async () => {
    const groups = await Promise.all(Array.from({ length: 6 }, () => createGroup(one, alice, [bob])));
    const ids = groups.map((g) => g.id);
    const failed: string[] = [];
    const batcher = (app: FastifyInstance) =>
      new SendBatcher({ db: app.tma.db, needsHooks: () => false, hooks: async () => {}, lanes: 1 });
    const [b1, b2] = [batcher(one), batcher(two)];
    const round = (b: SendBatcher, order: string[], sender: TestUser, tag: string) =>
      order.flatMap((conversation_id) =>
        Array.from({ length: 5 }, (_, i) =>
          b
            .submit({
              conversation_id,
              sender_id: sender.user.id,
              type: 'text',
              content: `${tag}${i}`,
              metadata: {},
            })
            .then((outcome) => {
              if (outcome?.kind !== 'stored') failed.push(`${tag}${i}`);
              return outcome;
            }),
        ),
      );
    for (let r = 0; r < 10; r++) {
      await Promise.all([
        ...round(b1, ids, alice, `a${r}-`),
        ...round(b2, [...ids].reverse(), bob, `b${r}-`),
      ]);
    }
    // A failed batch (a deadlock, a unique race) would have handed its messages back for the one-message path.
    expect(failed).toEqual([]);
    for (const id of ids) {
      const seqs = await one.tma.db
        .selectFrom('messages')
        .select('seq')
        .where('conversation_id', '=', id)
        .orderBy('seq')
        .execute();
      expect(seqs.map((s) => Number(s.seq))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    }
  });

  it('send the batch statement, and any prepared(...) text, as a named prepared statement', async () => {
    const group = await createGroup(one, alice, [bob]);
    const names = await one.tma.db.transaction().execute(async (trx) => {
      for (const v of [1, 2]) {
        const { rows } = await sql<{
          v: number;
        }>`${sql.raw(prepared('tma_test_probe'))} SELECT ${v}::int AS v`.execute(trx);
        expect(rows).toEqual([{ v }]);
      }
      const batcher = new SendBatcher({ db: trx, needsHooks: () => false, hooks: async () => {}, lanes: 1 });
      expect(
        await batcher.submit({
          conversation_id: group.id,
          sender_id: alice.user.id,
          type: 'text',
          content: 'x',
          metadata: {},
        }),
      ).toMatchObject({ kind: 'stored', row: { seq: 1, content: 'x' } });
      const { rows } = await sql<{ name: string }>`SELECT name FROM pg_prepared_statements`.execute(trx);
      return rows.map((r) => r.name);
    });
    expect(names).toEqual(expect.arrayContaining(['tma_test_probe', 'tma_send_batch']));
  });
});
