// The per-IP rate limit before authentication on two instances sharing Redis: one budget per address.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, sharedBackends } from '../helpers/app.js';

describe('per-IP rate limit across instances (Redis)', () => {
  let a: FastifyInstance;
  let b: FastifyInstance;
  beforeAll(async () => {
    const backends = await sharedBackends();
    a = await buildTestApp({ RATE_LIMIT_GLOBAL_PER_MINUTE: '6' }, backends);
    b = await buildTestApp({ RATE_LIMIT_GLOBAL_PER_MINUTE: '6' }, backends);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('shares one budget per IP between instances, under the key prefix', async () => {
    const remoteAddress = '192.0.2.44';
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const app = i % 2 === 0 ? a : b;
      statuses.push(
        (await app.inject({ method: 'GET', url: '/api/v1/conversations', remoteAddress })).statusCode,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429, 429]);
    const keys = await a.tma.redis?.keys(`${a.tma.config.redisKeyPrefix}rl-ip*`);
    expect(keys?.length).toBeGreaterThan(0);
  });
});
