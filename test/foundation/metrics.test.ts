// /metrics: standard and lint-clean names, the optional bearer token (METRICS_TOKEN) and port (METRICS_PORT).
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { buildTestApp } from '../helpers/app.js';

const TOKEN = 'metrics-token-0123456789abcdef';

/** One app per describe, built in beforeAll (app builds can be slow on a loaded machine). */
function appFor(env: Record<string, string> = {}): () => FastifyInstance {
  let app: FastifyInstance | undefined;
  beforeAll(async () => {
    app = await buildTestApp({ HOST: '127.0.0.1', ...env });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
  });
  return () => app as FastifyInstance;
}

/** `# TYPE name kind` lines of an exposition. */
function types(body: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const match of body.matchAll(/^# TYPE (\S+) (\S+)$/gm))
    map.set(match[1] as string, match[2] as string);
  return map;
}

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('GET /metrics names', () => {
  const app = appFor();

  it('uses the standard process_* and nodejs_* names, without a prefix', async () => {
    const res = await app().inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    const kinds = types(res.body);
    expect(kinds.get('process_cpu_seconds_total')).toBe('counter');
    expect(kinds.get('process_resident_memory_bytes')).toBe('gauge');
    expect(kinds.get('nodejs_heap_size_used_bytes')).toBe('gauge');
    expect(kinds.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect([...kinds.keys()].filter((name) => /^tma_(process|nodejs)_/.test(name))).toEqual([]);
  });

  it('types every *_total as a counter and every running total as one', async () => {
    const instance = app();
    await instance.inject({ method: 'GET', url: '/health' });
    const kinds = types((await instance.inject({ method: 'GET', url: '/metrics' })).body);
    const gaugesNamedTotal = [...kinds].filter(
      ([name, kind]) => name.endsWith('_total') && kind !== 'counter',
    );
    expect(gaugesNamedTotal).toEqual([]);
    expect(kinds.get('tma_db_queries_total')).toBe('counter');
    expect(kinds.get('tma_message_write_batches_total')).toBe('counter');
    expect(kinds.get('tma_message_write_batched_total')).toBe('counter');
    expect(kinds.get('tma_http_requests_total')).toBe('counter');
  });

  it('reads the database query count at scrape time, growing between scrapes', async () => {
    const instance = app();
    const count = async () => {
      const body = (await instance.inject({ method: 'GET', url: '/metrics' })).body;
      return Number(/^tma_db_queries_total (\d+)$/m.exec(body)?.[1]);
    };
    const before = await count();
    await instance.inject({ method: 'GET', url: '/health/ready' });
    expect(await count()).toBeGreaterThan(before);
  });
});

describe('METRICS_TOKEN', () => {
  const app = appFor({ METRICS_TOKEN: TOKEN });

  it('refuses a scrape without a token with 401', async () => {
    const res = await app().inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.json().error.code).toBe('unauthenticated');
    expect(res.body).not.toContain('tma_http_requests_total');
  });

  it('refuses a wrong token with 401', async () => {
    const res = await app().inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${TOKEN}x` },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('unauthenticated');
  });

  it('serves the metrics for the right token', async () => {
    const res = await app().inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('# TYPE tma_http_requests_total counter');
  });

  it('is refused by the configuration when shorter than 16 characters', () => {
    expect(problems({ METRICS_TOKEN: 'short' })).toEqual(['METRICS_TOKEN: must be at least 16 characters']);
  });
});

describe('METRICS_PORT', () => {
  const app = appFor({ METRICS_PORT: '0', METRICS_TOKEN: TOKEN });
  const auth = { authorization: `Bearer ${TOKEN}` };

  it('moves /metrics off the API port onto its own', async () => {
    expect((await app().inject({ method: 'GET', url: '/metrics', headers: auth })).statusCode).toBe(404);

    const port = app().tma.metrics.port();
    expect(port).toBeGreaterThan(0);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain('# TYPE tma_http_requests_total counter');
    // Nothing of the API is reachable there.
    expect((await fetch(`http://127.0.0.1:${port}/health`, { headers: auth })).status).toBe(404);
  });

  it('applies METRICS_TOKEN on its own port too', async () => {
    const url = `http://127.0.0.1:${app().tma.metrics.port()}/metrics`;
    const missing = await fetch(url);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(
      401,
    );
    expect((await fetch(url, { headers: auth })).status).toBe(200);
  });

  it('stops listening when the app closes', async () => {
    const port = app().tma.metrics.port();
    await app().close();
    expect(app().tma.metrics.port()).toBeUndefined();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`, { headers: auth })).rejects.toThrow();
  });

  it('is validated, naming the variable', () => {
    expect(problems({ METRICS_PORT: 'ninety' })[0]).toMatch(/^METRICS_PORT: must be a whole number/);
    expect(problems({ METRICS_PORT: '70000' })[0]).toMatch(/^METRICS_PORT:/);
    expect(problems({ PORT: '9000', METRICS_PORT: '9000' })).toEqual([
      'METRICS_PORT: must differ from PORT (unset serves /metrics on the API port)',
    ]);
    expect(loadConfig({ METRICS_PORT: '9464' }).metrics.port).toBe(9464);
    expect(loadConfig({}).metrics).toEqual({ token: undefined, port: undefined });
  });
});
