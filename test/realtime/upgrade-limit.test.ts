// WebSocket upgrades spend the per-IP request budget (RATE_LIMIT_GLOBAL_PER_MINUTE) like REST calls do: a flood of
// handshakes, with or without a token, is answered 429 with Retry-After before any socket opens.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildTestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { closeAllSockets, connectSocket, listen } from '../helpers/sockets.js';

let app: FastifyInstance;
let alice: TestUser;

beforeAll(async () => {
  app = await buildTestApp({ RATE_LIMIT_GLOBAL_PER_MINUTE: '3' });
  alice = await createUser(app);
});
afterAll(async () => {
  closeAllSockets();
  await app.close();
});

/** The status and Retry-After of a refused /ws upgrade, or 101 when it opened. */
async function wsUpgrade(token?: string): Promise<{ status: number; retryAfter?: string }> {
  const base = (await listen(app)).replace('http', 'ws');
  const ws = new WebSocket(`${base}/ws`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return new Promise((resolve) => {
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101 });
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
      res.resume();
      ws.terminate();
    });
    ws.once('error', () => undefined);
  });
}

describe('WebSocket upgrades and the per-IP budget', () => {
  it('counts handshakes without a token, then refuses /ws and Socket.IO upgrades with 429', async () => {
    // Three upgrades use up the budget of 3, whatever their token: two without one, one with a forged one.
    expect((await wsUpgrade()).status).toBe(101);
    expect((await wsUpgrade(`${alice.token}x`)).status).toBe(101);
    await connectSocket(app, undefined).catch(() => undefined);

    const refused = await wsUpgrade(alice.token);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    await expect(connectSocket(app, alice.token)).rejects.toThrow();
    const rest = await app.inject({ method: 'GET', url: '/api/v1/conversations', headers: alice.headers });
    expect(rest.statusCode).toBe(429);
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
