// The browser acceptance e2e with each person on their own TMA instance, both on PostgreSQL + Redis: live
// events, receipts and the offline catch-up cross instances.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { buildTestApp, sharedBackends } from '../helpers/app.js';
import { chatScenario } from './e2e.js';

describe('the web client on two instances (needs TEST_DATABASE_URL and TEST_REDIS_URL)', () => {
  let one: FastifyInstance;
  let two: FastifyInstance;
  let urls: { a: string; b: string };

  beforeAll(async () => {
    const shared = await sharedBackends();
    one = await buildTestApp({}, shared);
    two = await buildTestApp({}, shared);
    urls = {
      a: await one.listen({ host: '127.0.0.1', port: 0 }),
      b: await two.listen({ host: '127.0.0.1', port: 0 }),
    };
  }, 120_000);
  afterAll(async () => {
    await Promise.all([one?.close(), two?.close()]);
  });

  it('two people on two instances chat, and one catches up 20 messages after being offline', async () => {
    await chatScenario(urls, { screenshots: false });
  }, 300_000);
});
