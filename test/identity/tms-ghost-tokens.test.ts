// TMS mode: tokens for users TMS does not know, users deactivated here, and the cost of a known user's request.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deactivateUser, reactivateUser } from '../../src/identity/user-access.js';
import { buildTmsApp, startTestTms, type TmsSimulator, tmsHeaders, tmsIdentity } from '../helpers/tms.js';

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

const apiCalls = () => [...sim.calls.values()].reduce((sum, n) => sum + n, 0);

describe('TMS tokens for users that do not exist', () => {
  it('refuses a validly signed token for a user unknown to TMS with 401 token_invalid on every route', async () => {
    const headers = await tmsHeaders(sim, 'tms-nobody');
    const list = await app.inject({ method: 'GET', url: '/api/v1/conversations', headers });
    expect(list.statusCode).toBe(401);
    expect(list.json().error.code).toBe('token_invalid');
    const create = await app.inject({
      method: 'POST',
      url: '/api/v1/conversations',
      headers,
      payload: { type: 'group', name: 'ghosts', member_ids: [] },
    });
    expect(create.statusCode).toBe(401);
    expect(create.json().error.code).toBe('token_invalid');
    expect(await app.tma.services.usersRepository.findByTmsId('tms-nobody')).toBeUndefined();
  });

  it('still provisions a user TMS knows at first sight', async () => {
    sim.upsertUser({ id: 'tms-new-1', username: 'newcomer' });
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1/conversations',
      headers: await tmsHeaders(sim, 'tms-new-1'),
    });
    expect(res.statusCode).toBe(200);
    expect(await app.tma.services.usersRepository.findByTmsId('tms-new-1')).toBeDefined();
  });
});

describe('TMS users deactivated here', () => {
  it('refuses them at once with user_deactivated and admits them again after reactivation', async () => {
    sim.upsertUser({ id: 'tms-local-off', username: 'localoff' });
    const headers = await tmsHeaders(sim, 'tms-local-off');
    const me = () => app.inject({ method: 'GET', url: '/api/v1/auth/me', headers });
    const user = (await me()).json().data as { id: string };
    expect(await deactivateUser(app.tma, user.id)).toBe(true);
    const refused = await me();
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.code).toBe('user_deactivated');
    expect(await reactivateUser(app.tma, user.id)).toBe(true);
    expect((await me()).statusCode).toBe(200);
  });
});

describe('the hot path of a known TMS user', () => {
  it('costs no database query and no TMS call once the link is cached', async () => {
    const { authenticator } = tmsIdentity(app);
    const token = await sim.mintToken('tms-u-2', { sid: 'tms-session-hot' });
    await authenticator.authenticate(token);
    const before = apiCalls();
    const queries = await app.tma.database.countQueries(async () => {
      for (let i = 0; i < 20; i++) await authenticator.authenticate(token);
    });
    expect(queries).toBe(0);
    expect(apiCalls()).toBe(before);
  });
});
