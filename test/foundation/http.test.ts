import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../helpers/app.js';

let app: FastifyInstance;

beforeAll(async () => {
  app = await buildTestApp();
  // A route that fails, to see how internal errors are answered.
  app.get('/__boom', { config: { public: true } }, async () => {
    throw new Error('secret internal detail');
  });
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

  it('refuses protected routes without a token', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
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
