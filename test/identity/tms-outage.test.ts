// TMS down: cached users keep working, unknown users get 503 tms_unavailable, /health/ready says degraded.
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TmsClient, TmsUnavailableError } from '../../src/identity/tms-client.js';
import { startTmsSimulator } from '../../src/tms-simulator/simulator.js';
import { buildTmsApp, startTestTms, type TmsSimulator, tmsHeaders, tmsIdentity } from '../helpers/tms.js';

let sim: TmsSimulator;
let app: FastifyInstance;

const me = (headers: Record<string, string>) =>
  app.inject({ method: 'GET', url: '/api/v1/auth/me', headers });

beforeAll(async () => {
  sim = await startTestTms();
  app = await buildTmsApp(sim);
});
afterAll(async () => {
  await app.close();
  await sim.stop();
});

describe('with TMS flaky', () => {
  it('retries 5xx and waits out a short 429 over HTTP, so a new user still gets in', async () => {
    sim.upsertUser({ id: 'tms-f-1', username: 'flaky1' });
    sim.failNext(1, 503);
    sim.failNext(1, 429, 0);
    const before = sim.calls.get('GET /users/:id') ?? 0;
    const res = await me(await tmsHeaders(sim, 'tms-f-1'));
    expect(res.statusCode).toBe(200);
    expect(res.json().data.username).toBe('flaky1');
    expect(sim.calls.get('GET /users/:id')).toBe(before + 3);
  });

  it('answers 503 tms_unavailable when TMS keeps failing', async () => {
    sim.upsertUser({ id: 'tms-f-2', username: 'flaky2' });
    sim.failNext(3, 502);
    const res = await me(await tmsHeaders(sim, 'tms-f-2'));
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('tms_unavailable');
    expect((await me(await tmsHeaders(sim, 'tms-f-2'))).statusCode).toBe(200);
  });
});

describe('with TMS down', () => {
  it('reports TMS up in /health/ready while it runs', async () => {
    const res = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({
      status: 'ok',
      checks: { tms: { status: 'up', impact: 'degraded' } },
    });
  });

  it('keeps serving cached users, answers 503 tms_unavailable for unknown ones, and reports TMS down', async () => {
    const hs = await tmsHeaders(sim, 'tms-u-2');
    const rs = await tmsHeaders(sim, 'tms-u-3', { alg: 'RS256' });
    expect((await me(hs)).statusCode).toBe(200);
    expect((await me(rs)).statusCode).toBe(200);
    const stranger = await tmsHeaders(sim, 'tms-u-4');
    await sim.stop();

    // Fresh tokens of known users (HS256, and RS256 with the cached key set) still work.
    expect((await me(await tmsHeaders(sim, 'tms-u-2'))).statusCode).toBe(200);
    expect((await me(await tmsHeaders(sim, 'tms-u-3', { alg: 'RS256' }))).statusCode).toBe(200);

    const unknown = await me(stranger);
    expect(unknown.statusCode).toBe(503);
    expect(unknown.json().error.code).toBe('tms_unavailable');
    expect(Number(unknown.headers['retry-after'])).toBeGreaterThan(0);

    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().data.status).toBe('degraded');
    expect(ready.json().data.checks.tms.status).toBe('down');
    expect(ready.json().data.checks.database.status).toBe('up');

    const refresh = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refresh_token: 'anything' },
    });
    expect(refresh.statusCode).toBe(503);
    expect(refresh.json().error.code).toBe('tms_unavailable');

    // Logout still revokes here, and says TMS did not confirm.
    const out = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: hs });
    expect(out.statusCode).toBe(200);
    expect(out.json().data).toEqual({ logged_out: true, tms_synced: false });
    expect((await me(hs)).statusCode).toBe(401);

    const sync = tmsIdentity(app).sync.runOnce();
    await expect(sync).rejects.toBeInstanceOf(TmsUnavailableError);
  });
});

describe('TmsClient', () => {
  const logger = pino({ level: 'silent' });
  const config = (apiUrl: string) => ({
    apiUrl,
    apiKey: undefined,
    jwksUrl: undefined,
    issuer: undefined,
    audience: undefined,
    webhookSecret: undefined,
    roleMap: { admin: 'admin' as const },
    timeoutMs: 500,
    cacheTtlSeconds: 600,
    syncIntervalSeconds: 600,
    jwksCooldownMs: 0,
  });

  it('opens the circuit breaker after repeated failures and fails fast', async () => {
    const down = await startTmsSimulator();
    const url = down.url;
    await down.stop();
    const client = new TmsClient(config(url), logger, { retries: 1, baseDelayMs: 1, breakerThreshold: 2 });
    await expect(client.getUser('x')).rejects.toBeInstanceOf(TmsUnavailableError);
    await expect(client.getUser('x')).rejects.toBeInstanceOf(TmsUnavailableError);
    expect(client.breakerOpen).toBe(true);
    await expect(client.getUser('x')).rejects.toThrow(/circuit breaker is open/);
    await expect(client.health()).rejects.toThrow(/circuit breaker/);
  });

  it('retries 5xx, honours 429 Retry-After, and passes 404 as null', async () => {
    const sim2 = await startTmsSimulator();
    try {
      const client = new TmsClient(config(sim2.url), logger, { retries: 2, baseDelayMs: 1 });
      let calls = 0;
      const realFetch = globalThis.fetch;
      const answers = [503, 429];
      globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
        calls++;
        const status = answers.shift();
        if (status === 429) return new Response('{}', { status: 429, headers: { 'retry-after': '0' } });
        if (status) return new Response('{}', { status });
        return realFetch(input, init);
      }) as typeof fetch;
      try {
        const user = await client.getUser('tms-u-2');
        expect(user?.username).toBe('bob');
        expect(calls).toBe(3);
        expect(await client.getUser('tms-nope')).toBeNull();
        globalThis.fetch = (async () =>
          new Response('{}', { status: 429, headers: { 'retry-after': '120' } })) as typeof fetch;
        const limited = await client.getUser('tms-u-2').catch((e: unknown) => e);
        expect(limited).toBeInstanceOf(TmsUnavailableError);
        expect((limited as TmsUnavailableError).retryAfterSeconds).toBe(120);
      } finally {
        globalThis.fetch = realFetch;
      }
    } finally {
      await sim2.stop();
    }
  });

  it('sends the API key and gets 401 without it', async () => {
    const keyed = await startTmsSimulator({ apiKey: 'k-123' });
    try {
      const good = new TmsClient({ ...config(keyed.url), apiKey: 'k-123' }, logger);
      expect((await good.getUsers(['tms-u-1', 'tms-u-2'])).map((u) => u.username)).toEqual(['alice', 'bob']);
      const bad = new TmsClient(config(keyed.url), logger);
      await expect(bad.getUser('tms-u-1')).rejects.toThrow(/401/);
    } finally {
      await keyed.stop();
    }
  });
});
