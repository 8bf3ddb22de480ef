// Periodic maintenance as pg-boss schedules: each task is registered with its cron and does its work when its job runs.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { newId } from '../../src/db/ids.js';
import { cronEvery, EXPIRED_SESSION_GRACE_MS, MAINTENANCE_QUEUES } from '../../src/jobs/maintenance.js';
import { buildTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';
import { buildTmsApp, startTestTms, type TmsSimulator } from '../helpers/tms.js';

const WAIT = { timeout: 15_000, interval: 50 };

async function completed(app: FastifyInstance, queue: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pgboss.job WHERE name = ${queue} AND state = 'completed'`.execute(
    app.tma.db,
  );
  return rows[0]?.n ?? 0;
}

/** Runs one period of a task through the queue (as its schedule would) and waits for it to complete. */
async function runNow(app: FastifyInstance, queue: string): Promise<void> {
  const before = await completed(app, queue);
  await app.tma.jobs.send(queue, {});
  await vi.waitFor(async () => expect(await completed(app, queue)).toBeGreaterThan(before), WAIT);
}

describe('cronEvery', () => {
  it('turns a period in seconds into a cron at minute resolution', () => {
    expect(cronEvery(5)).toBe('* * * * *');
    expect(cronEvery(60)).toBe('* * * * *');
    expect(cronEvery(600)).toBe('*/10 * * * *');
    expect(cronEvery(3600)).toBe('0 */1 * * *');
    expect(cronEvery(6 * 3600)).toBe('0 */6 * * *');
    expect(cronEvery(2 * 86_400)).toBe('0 0 * * *');
  });
});

describe('maintenance (local accounts)', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildTestApp({ JOB_POLL_INTERVAL_MS: '500' });
  });
  afterAll(async () => {
    await app.close();
  });

  it('registers a schedule per task in the database, and none for TMS sync', async () => {
    const schedules = await app.tma.jobs.schedules();
    expect(schedules).toEqual(
      expect.arrayContaining([
        { name: MAINTENANCE_QUEUES.pruneEvents, cron: '0 * * * *' },
        { name: MAINTENANCE_QUEUES.expiredSessions, cron: '30 * * * *' },
      ]),
    );
    expect(schedules.map((s) => s.name)).not.toContain(MAINTENANCE_QUEUES.tmsSync);
  });

  it('prunes catch-up events older than EVENT_RETENTION_DAYS, keeping the messages', async () => {
    const alice = await createUser(app);
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/conversations',
      headers: alice.headers,
      payload: { type: 'group', name: 'Old news', member_ids: [] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const g = (created.json() as { data: { id: string } }).data;
    for (let i = 0; i < 3; i++) {
      const sent = await app.inject({
        method: 'POST',
        url: `/api/v1/conversations/${g.id}/messages`,
        headers: alice.headers,
        payload: { content: `m${i}` },
      });
      expect(sent.statusCode, sent.body).toBe(201);
    }
    await app.tma.db
      .updateTable('conversation_events')
      .set({ created_at: sql<Date>`now() - make_interval(days => ${app.tma.config.eventRetentionDays + 1})` })
      .where('conversation_id', '=', g.id)
      .where('seq', '<=', 2)
      .execute();

    const seqs = async () =>
      (
        await app.tma.db
          .selectFrom('conversation_events')
          .select('seq')
          .where('conversation_id', '=', g.id)
          .orderBy('seq')
          .execute()
      ).map((e) => Number(e.seq));
    const before = await seqs();
    expect(before.length).toBeGreaterThan(2);

    await runNow(app, MAINTENANCE_QUEUES.pruneEvents);

    expect(await seqs()).toEqual(before.filter((seq) => seq > 2));
    const messages = await app.tma.db
      .selectFrom('messages')
      .select('id')
      .where('conversation_id', '=', g.id)
      .execute();
    expect(messages).toHaveLength(3);
  });

  it('deletes sessions expired for longer than the grace period, and only those', async () => {
    const alice = await createUser(app);
    const session = (expiresAgoMs: number) => ({
      id: newId(),
      user_id: alice.user.id,
      refresh_hash: newId(),
      family_id: newId(),
      expires_at: new Date(Date.now() - expiresAgoMs),
    });
    const old = session(EXPIRED_SESSION_GRACE_MS + 3_600_000);
    const recent = session(3_600_000);
    await app.tma.db.insertInto('sessions').values([old, recent]).execute();

    await runNow(app, MAINTENANCE_QUEUES.expiredSessions);

    const ids = (
      await app.tma.db
        .selectFrom('sessions')
        .select('id')
        .where('id', 'in', [old.id, recent.id, alice.sessionId])
        .execute()
    ).map((r) => r.id);
    expect(ids.sort()).toEqual([recent.id, alice.sessionId].sort());
  });
});

describe('maintenance (TMS mode)', () => {
  let sim: TmsSimulator;
  let app: FastifyInstance;

  beforeAll(async () => {
    sim = await startTestTms();
    app = await buildTmsApp(sim, { JOB_POLL_INTERVAL_MS: '500', TMS_SYNC_INTERVAL_SECONDS: '900' });
  });
  afterAll(async () => {
    await app.close();
    await sim.stop();
  });

  it('schedules the TMS sync every TMS_SYNC_INTERVAL_SECONDS', async () => {
    expect(await app.tma.jobs.schedules()).toContainEqual({
      name: MAINTENANCE_QUEUES.tmsSync,
      cron: '*/15 * * * *',
    });
  });

  it('imports the TMS directory when the sync job runs', async () => {
    const repo = app.tma.services.usersRepository;
    const ids = ['tms-u-1', 'tms-u-2', 'tms-u-3', 'tms-u-4'];
    await runNow(app, MAINTENANCE_QUEUES.tmsSync);
    expect((await repo.findByTmsIds(ids)).length).toBe(4);
  });
});
