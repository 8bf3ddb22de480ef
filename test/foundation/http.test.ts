import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../src/errors.js';
import { buildTestApp } from '../helpers/app.js';

let app: FastifyInstance;

beforeAll(async () => {
  app = await buildTestApp();
  // A route that fails, to see how internal errors are answered.
  app.get('/__boom', { config: { public: true } }, async () => {
    throw new Error('secret internal detail');
  });
  app.get('/__private', async () => ({ success: true, data: null, error: null }));
  app.get('/__limited', { config: { public: true } }, async () => {
    throw new RateLimitedError(6.2);
  });
  app.get('/__duplicate', { config: { public: true } }, async () => {
    throw Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
  });
  app.post(
    '/__typed',
    {
      config: { public: true },
      schema: { body: Type.Object({ name: Type.String() }, { additionalProperties: false }) },
    },
    async () => ({ success: true, data: null, error: null }),
  );
  app.post('/__echo', { config: { public: true } }, async (request) => ({
    success: true,
    data: request.body,
    error: null,
  }));
});
afterAll(async () => {
  await app.close();
});

describe('health', () => {
  it('GET /health answers 200 with the envelope', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: true, data: { status: 'ok' }, error: null });
  });

  it('GET /health/ready checks the database', async () => {
    const res = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(200);
    expect(res.json().data.checks.database.status).toBe('up');
  });
});

describe('errors', () => {
  it('answers an unknown route with a 404 envelope', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/nothing-here' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      success: false,
      data: null,
      error: { code: 'not_found', message: 'Route GET /api/v1/nothing-here not found' },
    });
  });

  it('answers an over-long path parameter and a malformed URL with the envelope', async () => {
    const long = await app.inject({ method: 'GET', url: `/api/v1/users/${'a'.repeat(200)}` });
    expect(long.statusCode).toBe(414);
    expect(long.json().error.code).toBe('uri_too_long');
    const bad = await app.inject({ method: 'GET', url: '/api/v1/users/%E0%A4%A' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('validation_error');
  });

  it('answers malformed JSON with 400 validation_error', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/__echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"a": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
  });

  it('answers a body over 10 MB with 413', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/__echo',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ blob: 'x'.repeat(10 * 1024 * 1024 + 10) }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('payload_too_large');
  });

  it('masks internal errors: 500 envelope without the message or a stack', async () => {
    const res = await app.inject({ method: 'GET', url: '/__boom' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({
      success: false,
      data: null,
      error: { code: 'internal_error', message: 'Internal server error' },
    });
    expect(res.body).not.toContain('secret internal detail');
  });

  it('refuses protected routes without a token, or with a bad one', async () => {
    const missing = await app.inject({ method: 'GET', url: '/__private' });
    expect(missing.statusCode).toBe(401);
    expect(missing.json().error.code).toBe('unauthenticated');
    const bad = await app.inject({
      method: 'GET',
      url: '/__private',
      headers: { authorization: 'Bearer nope' },
    });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error.code).toBe('token_invalid');
  });

  it('maps application errors, unique violations and schema violations to the envelope', async () => {
    const limited = await app.inject({ method: 'GET', url: '/__limited' });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('7');
    expect(limited.json().error.code).toBe('rate_limited');
    const dup = await app.inject({ method: 'GET', url: '/__duplicate' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('conflict');
    const invalid = await app.inject({ method: 'POST', url: '/__typed', payload: { name: 42 } });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error).toMatchObject({ code: 'validation_error', details: { field: 'name' } });
    const extra = await app.inject({ method: 'POST', url: '/__typed', payload: { name: 'a', extra: true } });
    expect(extra.json().error.details.field).toBe('extra');
    const missing = await app.inject({ method: 'POST', url: '/__typed', payload: {} });
    expect(missing.json().error.details.field).toBe('name');
  });
});

describe('request ids and headers', () => {
  it('echoes a valid incoming X-Request-Id and generates one otherwise', async () => {
    const mine = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'abc-123' } });
    expect(mine.headers['x-request-id']).toBe('abc-123');
    const bad = await app.inject({
      method: 'GET',
      url: '/health',
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends security headers', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['strict-transport-security']).toContain('max-age=');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
  });
});

describe('metrics', () => {
  it('serves Prometheus metrics with per-route HTTP counters and durations', async () => {
    await app.inject({ method: 'GET', url: '/health' });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toMatch(/tma_http_requests_total\{method="GET",route="\/health",status="200"\} \d+/);
    expect(res.body).toContain('tma_http_request_duration_seconds_bucket');
    expect(res.body).toContain('tma_db_queries_total');
    expect(res.body).toContain('tma_realtime_connected_sockets');
  });
});

describe('API documentation', () => {
  it('serves a valid OpenAPI 3 document', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const spec = res.json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(spec.paths['/health']).toBeDefined();
    expect(spec.components.securitySchemes.bearerAuth.scheme).toBe('bearer');
  });

  it('serves Swagger UI at /docs and ReDoc at /redoc from local files', async () => {
    const docs = await app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
    const redoc = await app.inject({ method: 'GET', url: '/redoc' });
    expect(redoc.statusCode).toBe(200);
    expect(redoc.body).toContain('/redoc/redoc.standalone.js');
    expect(redoc.body).not.toMatch(/https?:\/\//);
    const bundle = await app.inject({ method: 'GET', url: '/redoc/redoc.standalone.js' });
    expect(bundle.statusCode).toBe(200);
    expect(bundle.body.length).toBeGreaterThan(100_000);
  });
});
