// Background TMS sync on PostgreSQL: a pass is skipped while another instance holds the advisory lock.
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTmsApp, startTestTms, type TmsSimulator, tmsIdentity } from '../helpers/tms.js';

let sim: TmsSimulator;
let app: FastifyInstance;

beforeAll(async () => {
  sim = await startTestTms();
  app = await buildTmsApp(sim);
});
afterAll(async () => {
  await app.close();
  await sim.stop();
});

describe('TMS sync', () => {
  it('skips the pass while another instance holds the advisory lock (needs PostgreSQL: TEST_DATABASE_URL)', async () => {
    const other = new pg.Client({ connectionString: app.tma.config.databaseUrl });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock(72010002)');
      expect(await tmsIdentity(app).sync.runOnce()).toEqual({ ran: false, applied: 0 });
      await other.query('SELECT pg_advisory_unlock(72010002)');
      expect((await tmsIdentity(app).sync.runOnce()).ran).toBe(true);
    } finally {
      await other.end();
    }
  });
});
