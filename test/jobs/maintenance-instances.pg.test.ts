// Maintenance schedules live in the database: instances sharing one PostgreSQL database store each schedule once.
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { MAINTENANCE_QUEUES } from '../../src/jobs/maintenance.js';
import { buildTestApp, sharedBackends } from '../helpers/app.js';

describe('maintenance across instances (PostgreSQL)', () => {
  it('keeps one schedule per task for every instance sharing the database', async () => {
    const shared = await sharedBackends();
    const a = await buildTestApp({}, shared);
    const b = await buildTestApp({}, shared);
    try {
      const { rows } = await sql<{ name: string; n: number }>`
        SELECT name, count(*)::int AS n FROM pgboss.schedule GROUP BY name ORDER BY name`.execute(a.tma.db);
      // Every module's schedules (maintenance, file and call sweeps, notification sweeps, webhook logs):
      // registered by both instances, stored once each.
      expect(rows.map((r) => r.name)).toEqual(
        expect.arrayContaining([
          MAINTENANCE_QUEUES.expiredSessions,
          MAINTENANCE_QUEUES.pruneEvents,
          'file-sweep',
        ]),
      );
      expect(rows.filter((r) => r.n !== 1)).toEqual([]);
      const byName = (list: Array<{ name: string; cron: string }>) =>
        [...list].sort((x, y) => x.name.localeCompare(y.name));
      expect(byName(await b.tma.jobs.schedules())).toEqual(byName(await a.tma.jobs.schedules()));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
