// TmsClient's resilience policies: per-attempt timeout, what the breaker counts, and recovery after its cooldown.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TmsConfig } from '../../src/config.js';
import { TmsClient, TmsHttpError, TmsUnavailableError } from '../../src/identity/tms-client.js';

const logger = pino({ level: 'silent' });
const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A TMS stand-in: `answer` decides each request; returns its base URL and the number of requests seen. */
async function fakeTms(answer: (path: string) => { status: number; body?: unknown } | 'hang') {
  const seen = { requests: 0 };
  const server = createServer((req, res) => {
    seen.requests++;
    const reply = answer(req.url ?? '/');
    if (reply === 'hang') return; // never answers
    res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body ?? {}));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const config = (apiUrl: string, timeoutMs = 3000): TmsConfig => ({
  apiUrl,
  apiKey: undefined,
  jwksUrl: undefined,
  issuer: undefined,
  audience: undefined,
  webhookSecret: undefined,
  roleMap: { admin: 'admin' },
  timeoutMs,
  cacheTtlSeconds: 600,
  syncIntervalSeconds: 600,
  jwksCooldownMs: 0,
});

describe('TmsClient policies', () => {
  it('times out each attempt, retries, then fails with TmsUnavailableError naming the timeout', async () => {
    const tms = await fakeTms(() => 'hang');
    const client = new TmsClient(config(tms.url, 300), logger, { retries: 2, baseDelayMs: 1 });
    const started = performance.now();
    const error = await client.getUser('u1').catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(TmsUnavailableError);
    expect((error as Error).message).toBe('TMS is unavailable: timeout');
    // Three attempts, each cut at 300 ms (a slow connect may keep one from reaching the server at all).
    expect(elapsed).toBeGreaterThanOrEqual(3 * 300 - 20);
    expect(elapsed).toBeLessThan(5000);
    expect(tms.seen.requests).toBeLessThanOrEqual(3);
  });

  it('does not retry a refresh (single-use token), even on a 5xx', async () => {
    const tms = await fakeTms(() => ({ status: 503 }));
    const client = new TmsClient(config(tms.url), logger, { retries: 2, baseDelayMs: 1 });
    await expect(client.refresh('rt')).rejects.toBeInstanceOf(TmsUnavailableError);
    expect(tms.seen.requests).toBe(1);
  });

  it('counts one breaker failure per call, not per attempt, and none for 4xx or 429 answers', async () => {
    let status = 404;
    const tms = await fakeTms(() => ({ status }));
    const client = new TmsClient(config(tms.url), logger, {
      retries: 2,
      baseDelayMs: 1,
      breakerThreshold: 2,
    });
    for (let i = 0; i < 5; i++) expect(await client.getUser('nobody')).toBeNull();
    await expect(client.usersUpdatedSince(undefined)).rejects.toBeInstanceOf(TmsHttpError);
    expect(client.breakerOpen).toBe(false);

    status = 429;
    const limited = await client.getUser('u1').catch((e: unknown) => e);
    expect((limited as TmsUnavailableError).retryAfterSeconds).toBe(1);
    expect(client.breakerOpen).toBe(false);

    status = 500;
    await expect(client.getUser('u1')).rejects.toThrow('TMS is unavailable: status 500');
    expect(client.breakerOpen).toBe(false); // one call of three attempts is one failure
    await expect(client.getUser('u1')).rejects.toThrow('TMS is unavailable: status 500');
    expect(client.breakerOpen).toBe(true);
  });

  it('lets a trial call through after the cooldown and closes again when TMS is back', async () => {
    let up = false;
    const tms = await fakeTms(() => (up ? { status: 200 } : { status: 503 }));
    const client = new TmsClient(config(tms.url), logger, {
      retries: 0,
      breakerThreshold: 1,
      breakerCooldownMs: 100,
    });
    await expect(client.health()).rejects.toThrow('TMS is unavailable: status 503');
    await expect(client.health()).rejects.toThrow('TMS circuit breaker is open');
    const refusedWhileOpen = tms.seen.requests;
    expect(refusedWhileOpen).toBe(1);

    up = true;
    await vi.waitFor(() => client.health(), { timeout: 2000, interval: 50 });
    expect(client.breakerOpen).toBe(false);
    await expect(client.health()).resolves.toBeUndefined();
  });
});
