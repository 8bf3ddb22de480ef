// POST /webhooks/tms on two instances sharing PostgreSQL and Redis: the effect and the replay check cross instances.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedBackends } from '../helpers/app.js';
import { buildTmsApp, startTestTms, type TmsSimulator, tmsHeaders } from '../helpers/tms.js';

let sim: TmsSimulator;

beforeAll(async () => {
  sim = await startTestTms();
});
afterAll(async () => {
  await sim.stop();
});

describe('two TMS-mode instances sharing PostgreSQL and Redis (needs TEST_DATABASE_URL and TEST_REDIS_URL)', () => {
  let a: FastifyInstance;
  let b: FastifyInstance;
  beforeAll(async () => {
    const backends = await sharedBackends();
    a = await buildTmsApp(sim, {}, backends);
    b = await buildTmsApp(sim, {}, backends);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('a webhook received by one instance takes effect on the other, and its replay is refused there', async () => {
    const session = await sim.issueSession('tms-u-2');
    const headers = { authorization: `Bearer ${session.access_token}` };
    expect((await b.inject({ method: 'GET', url: '/api/v1/auth/me', headers })).statusCode).toBe(200);
    const raw = JSON.stringify({
      id: `e-${session.sid}`,
      type: 'session.revoked',
      data: { session_id: session.sid },
    });
    const ts = Math.floor(Date.now() / 1000);
    const deliver = (app: FastifyInstance) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/webhooks/tms',
        headers: {
          'content-type': 'application/json',
          'x-tms-timestamp': String(ts),
          'x-tms-signature': sim.signWebhook(raw, ts),
        },
        payload: raw,
      });
    expect((await deliver(a)).statusCode).toBe(200);
    expect((await deliver(b)).statusCode).toBe(409);
    const after = await b.inject({ method: 'GET', url: '/api/v1/auth/me', headers });
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe('session_revoked');
    const fresh = await b.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: await tmsHeaders(sim, 'tms-u-2'),
    });
    expect(fresh.statusCode).toBe(200);
  });
});
