// The durable job queue across a restart: a job left by a stopped instance runs on the next one (one PostgreSQL database).
import { describe, expect, it, vi } from 'vitest';
import { buildTestApp, sharedBackends } from '../helpers/app.js';

/** Polls `check` until it holds (the workers run on their own schedule). */
async function until(check: () => boolean | Promise<boolean>, timeout = 15_000): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await check())) throw new Error('condition not met yet');
    },
    { timeout, interval: 50 },
  );
}

// Two instances on one database: PostgreSQL only (an in-memory PGlite dies with its app).
describe('JobQueue across instances (needs PostgreSQL: TEST_DATABASE_URL)', () => {
  it('a job enqueued by an instance that then stops is run by the next instance', async () => {
    const backends = await sharedBackends();
    const first = await buildTestApp({ JOB_WORKERS: 'false' }, backends);
    try {
      await first.tma.jobs.define<{ key: string }>('test-handover', async () => {
        throw new Error('the first instance has no workers');
      });
      await first.tma.db.transaction().execute(async (trx) => {
        await first.tma.jobs.enqueue(trx, 'test-handover', { key: 'handed-over' });
      });
    } finally {
      await first.close();
    }
    const second = await buildTestApp({ JOB_POLL_INTERVAL_MS: '500' }, backends);
    const done: string[] = [];
    try {
      await second.tma.jobs.define<{ key: string }>('test-handover', async (data) => {
        done.push(data.key);
      });
      await until(() => done.includes('handed-over'));
      expect(done).toEqual(['handed-over']);
    } finally {
      await second.close();
    }
  });
});
