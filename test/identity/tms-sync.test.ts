// Background TMS sync: imports and updates users from `GET /users?updated_since=`; overlapping calls share one pass.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockPast } from '../helpers/clock.js';
import { buildTmsApp, startTestTms, type TmsSimulator, tmsHeaders, tmsIdentity } from '../helpers/tms.js';

let sim: TmsSimulator;
let app: FastifyInstance;

/** The newest updated_at the simulator has handed out: the sync cursor after a pass. */
const latestUpdate = () => Math.max(...[...sim.users.values()].map((u) => Date.parse(u.updated_at)));

beforeAll(async () => {
  sim = await startTestTms();
  app = await buildTmsApp(sim);
});
afterAll(async () => {
  await app.close();
  await sim.stop();
});

describe('TMS sync', () => {
  it('imports every TMS user on the first pass, then only what changed', async () => {
    const first = await tmsIdentity(app).sync.runOnce();
    expect(first).toEqual({ ran: true, applied: 4 });
    const repo = app.tma.services.usersRepository;
    expect((await repo.findByTmsIds(['tms-u-1', 'tms-u-2', 'tms-u-3', 'tms-u-4'])).length).toBe(4);
    expect((await repo.findByTmsId('tms-u-1'))?.role).toBe('admin');
    expect((await repo.findByTmsId('tms-u-2'))?.last_synced_at).toBeInstanceOf(Date);

    await clockPast(latestUpdate()); // a later updated_at than the cursor
    sim.updateUser('tms-u-2', { display_name: 'Robert Builder' });
    const updates: string[] = [];
    const off = app.tma.bus.subscribe('user.updated', (e) => void updates.push(e.user_id));
    const second = await tmsIdentity(app).sync.runOnce();
    off();
    expect(second).toEqual({ ran: true, applied: 1 });
    const bob = await repo.findByTmsId('tms-u-2');
    expect(bob?.display_name).toBe('Robert Builder');
    expect(updates).toEqual([bob?.id]);
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: await tmsHeaders(sim, 'tms-u-2'),
    });
    expect(res.json().data.display_name).toBe('Robert Builder');
  });

  it('deactivates users TMS marks inactive, refusing their tokens', async () => {
    const headers = await tmsHeaders(sim, 'tms-u-4');
    expect((await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers })).statusCode).toBe(200);
    await clockPast(latestUpdate());
    sim.updateUser('tms-u-4', { active: false });
    const deactivated: string[] = [];
    const off = app.tma.bus.subscribe('user.deactivated', (e) => void deactivated.push(e.user_id));
    await tmsIdentity(app).sync.runOnce();
    off();
    expect(deactivated).toHaveLength(1);
    const res = await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('user_deactivated');
  });

  it('overlapping calls share one pass', async () => {
    const calls = sim.calls.get('GET /users') ?? 0;
    const [a, b] = await Promise.all([tmsIdentity(app).sync.runOnce(), tmsIdentity(app).sync.runOnce()]);
    expect(a).toBe(b);
    expect(sim.calls.get('GET /users')).toBe(calls + 1);
  });
});
