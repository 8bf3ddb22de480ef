// The durable job queue on one instance: transactional enqueue, workers, retries, backlog, shutdown, concurrency.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, usingPostgres } from '../helpers/app.js';

let app: FastifyInstance;
const seen: string[] = [];
const attempts = new Map<string, number>();

/** Polls `check` until it holds (the workers run on their own schedule). */
async function until(check: () => boolean | Promise<boolean>, timeout = 15_000): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await check())) throw new Error('condition not met yet');
    },
    { timeout, interval: 50 },
  );
}

async function jobRows(name: string): Promise<Array<{ state: string; data: { key: string } }>> {
  const { rows } = await sql<{ state: string; data: { key: string } }>`
    SELECT state, data FROM pgboss.job WHERE name = ${name}`.execute(app.tma.db);
  return rows;
}

beforeAll(async () => {
  app = await buildTestApp({ JOB_POLL_INTERVAL_MS: '500' });
  await app.tma.jobs.define<{ key: string }>('test-record', async (data) => {
    seen.push(data.key);
  });
  await app.tma.jobs.define<{ key: string }>(
    'test-flaky',
    async (data, job) => {
      attempts.set(data.key, job.retryCount + 1);
      if (job.retryCount < 1) throw new Error('first attempt fails');
      seen.push(data.key);
    },
    { retryLimit: 2, retryDelaySeconds: 1 },
  );
});
afterAll(async () => {
  await app.close();
});

describe('JobQueue', () => {
  it('runs a job enqueued inside a committed transaction', async () => {
    await app.tma.db.transaction().execute(async (trx) => {
      const id = await app.tma.jobs.enqueue(trx, 'test-record', { key: 'committed' });
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    });
    app.tma.jobs.kick('test-record');
    await until(() => seen.includes('committed'));
    await until(async () => (await jobRows('test-record')).some((r) => r.state === 'completed'));
  });

  it('never runs a job whose transaction rolled back', async () => {
    await expect(
      app.tma.db.transaction().execute(async (trx) => {
        await app.tma.jobs.enqueue(trx, 'test-record', { key: 'rolled-back' });
        throw new Error('business failure');
      }),
    ).rejects.toThrow('business failure');
    app.tma.jobs.kick('test-record');
    const rows = await jobRows('test-record');
    expect(rows.map((r) => r.data.key)).not.toContain('rolled-back');
    // A later committed job runs, proving the worker was polling past the rollback.
    await app.tma.jobs.send('test-record', { key: 'after-rollback' });
    await until(() => seen.includes('after-rollback'));
    expect(seen).not.toContain('rolled-back');
  });

  it('retries a failing job', async () => {
    await app.tma.jobs.send('test-flaky', { key: 'flaky' });
    await until(() => seen.includes('flaky'));
    expect(attempts.get('flaky')).toBe(2);
  });

  it('refuses to enqueue to an undefined queue', async () => {
    await expect(app.tma.jobs.send('no-such-queue', { a: 1 })).rejects.toThrow('not defined');
    await expect(app.tma.jobs.define('test-record', async () => undefined)).rejects.toThrow(
      'already defined',
    );
  });

  it('an instance without workers only enqueues: the job stays queued, durable in the database', async () => {
    const enqueuer = await buildTestApp({ JOB_WORKERS: 'false' });
    const done: string[] = [];
    try {
      await enqueuer.tma.jobs.define<{ key: string }>('test-durable', async (data) => {
        done.push(data.key);
      });
      await enqueuer.tma.db.transaction().execute(async (trx) => {
        await enqueuer.tma.jobs.enqueue(trx, 'test-durable', { key: 'survives' });
      });
      expect(await enqueuer.tma.jobs.pending('test-durable')).toBe(1);
      expect(done).toEqual([]);
    } finally {
      await enqueuer.close();
    }
    expect(done).toEqual([]);
  });
});

describe('JobQueue backlog', () => {
  let slow: FastifyInstance;
  const drained: string[] = [];

  beforeAll(async () => {
    // A poll interval far beyond the test: only the drain after each job can run the backlog in time.
    slow = await buildTestApp({ JOB_POLL_INTERVAL_MS: '600000' });
    await slow.tma.jobs.define<{ key: string }>('test-backlog', async (data) => {
      drained.push(data.key);
    });
  });
  afterAll(async () => {
    await slow.close();
  });

  it('runs a backlog one job after another without waiting a poll interval between them', async () => {
    const keys = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'];
    await slow.tma.db.transaction().execute(async (trx) => {
      for (const key of keys) await slow.tma.jobs.enqueue(trx, 'test-backlog', { key });
    });
    slow.tma.jobs.kick('test-backlog');
    await until(() => drained.length === keys.length);
    expect([...drained].sort()).toEqual(keys);
  });
});

describe('JobQueue shutdown', () => {
  it('stops after the shutdown timeout while a job still runs, and the job ending later touches nothing', async () => {
    const stopping = await buildTestApp({ JOB_POLL_INTERVAL_MS: '500', SHUTDOWN_TIMEOUT_MS: '1000' });
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const events: string[] = [];
    try {
      await stopping.tma.jobs.define<{ key: string }>('test-outlives', async () => {
        events.push('started');
        await released;
        events.push('finished');
      });
      await stopping.tma.jobs.send('test-outlives', { key: 'long' });
      await until(() => events.includes('started'));
      const closing = Date.now();
      await stopping.close();
      // The close waited for the job up to SHUTDOWN_TIMEOUT_MS, then went on without it.
      expect(Date.now() - closing).toBeGreaterThanOrEqual(900);
      expect(events).toEqual(['started']);
      release();
      await until(() => events.includes('finished'));
      // pg-boss marks the job complete without awaiting it; on the closed database that must not reject.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(rejections).toEqual([]);
    } finally {
      release();
      process.off('unhandledRejection', onRejection);
    }
  });
});

describe('JobQueue concurrency', () => {
  // PostgreSQL: as many as asked; PGlite (one connection): at most 2.
  const expected = usingPostgres ? 3 : 2;

  it('runs up to `concurrency` jobs of a queue at once on one instance (at most 2 on PGlite)', async () => {
    const wide = await buildTestApp({ JOB_POLL_INTERVAL_MS: '500' });
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let running = 0;
    let most = 0;
    const done: string[] = [];
    try {
      await wide.tma.jobs.define<{ key: string }>(
        'test-wide',
        async (data) => {
          running++;
          most = Math.max(most, running);
          await released;
          running--;
          done.push(data.key);
        },
        { concurrency: 3 },
      );
      for (const key of ['w1', 'w2', 'w3', 'w4']) await wide.tma.jobs.send('test-wide', { key });
      await until(() => most === expected);
      expect(done).toEqual([]);
      release();
      await until(() => done.length === 4);
      expect(most).toBe(expected);
    } finally {
      release();
      await wide.close();
    }
  });
});
