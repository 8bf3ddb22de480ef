// Local accounts on two instances sharing PostgreSQL and Redis: logouts and failed-login counts cross instances.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, sharedBackends } from '../helpers/app.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('two instances sharing PostgreSQL and Redis (needs TEST_DATABASE_URL and TEST_REDIS_URL)', () => {
  let a: FastifyInstance;
  let b: FastifyInstance;
  beforeAll(async () => {
    const backends = await sharedBackends();
    a = await buildTestApp({ AUTH_RATE_LIMIT_PER_MINUTE: '5' }, backends);
    b = await buildTestApp({ AUTH_RATE_LIMIT_PER_MINUTE: '5' }, backends);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('a logout on one instance refuses the access token on the other at once', async () => {
    await a.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { username: 'roamer', password: 'the right password' },
    });
    const login = await a.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'roamer', password: 'the right password' },
    });
    const headers = bearer(login.json().data.access_token);
    expect((await b.inject({ method: 'GET', url: '/api/v1/auth/me', headers })).statusCode).toBe(200);
    expect((await b.inject({ method: 'POST', url: '/api/v1/auth/logout', headers })).statusCode).toBe(200);
    const after = await a.inject({ method: 'GET', url: '/api/v1/auth/me', headers });
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe('session_revoked');
  });

  it('failed logins for one username count across instances', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await (i % 2 === 0 ? a : b).inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: 'roamer', password: `wrong ${i}` },
        remoteAddress: `10.5.0.${i}`,
      });
      statuses.push(res.statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });
});
