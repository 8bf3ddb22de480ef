// The OpenAPI document as generators need it, and what browsers need: CORS for every method the API uses, a CSP
// that works over plain HTTP, ReDoc without outside requests, a favicon.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../helpers/app.js';

type Json = Record<string, unknown>;
interface Operation {
  method: string;
  path: string;
  op: Json & { responses: Record<string, Json>; parameters?: Json[]; tags?: string[] };
}

const ORIGIN = 'http://app.example.test';
let app: FastifyInstance;
let spec: Json & { paths: Record<string, Record<string, Json>>; components: Json; tags: Json[] };
let operations: Operation[];

beforeAll(async () => {
  app = await buildTestApp({ ALLOWED_ORIGINS: `${ORIGIN},http://other.example.test`, TRUST_PROXY: 'true' });
  spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  operations = Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ method, path, op: op as Operation['op'] })),
  );
});
afterAll(async () => {
  await app.close();
});

/** Every schema node of the document, depth first. */
function* nodes(value: unknown): Generator<Json> {
  if (Array.isArray(value)) for (const item of value) yield* nodes(item);
  else if (typeof value === 'object' && value !== null) {
    yield value as Json;
    for (const child of Object.values(value)) yield* nodes(child);
  }
}

describe('the OpenAPI document', () => {
  it('gives every operation a unique operationId, a description and a tag from the global list', () => {
    expect(operations.length).toBeGreaterThan(50);
    const ids = operations.map((o) => o.op.operationId);
    expect(ids.filter((id) => typeof id !== 'string')).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    const tags = new Set(spec.tags.map((t) => t.name));
    for (const { method, path, op } of operations) {
      expect(op.description, `${method} ${path}`).toEqual(expect.any(String));
      expect(op.tags?.length, `${method} ${path}`).toBeGreaterThan(0);
      for (const tag of op.tags ?? []) expect(tags.has(tag), `${method} ${path} tag ${tag}`).toBe(true);
    }
  });

  it('names its component schemas after the domain (no def-N)', () => {
    const names = Object.keys(spec.components.schemas as Json);
    expect(names).toEqual(
      expect.arrayContaining([
        'Message',
        'Conversation',
        'User',
        'CurrentUser',
        'ErrorEnvelope',
        'Pagination',
      ]),
    );
    expect(names.filter((n) => /^def-\d+$/.test(n))).toEqual([]);
    expect(JSON.stringify(spec)).not.toMatch(/#\/components\/schemas\/def-\d/);
    const conversation = spec.paths['/api/v1/conversations/{id}']?.get as Operation['op'];
    const ok = conversation.responses['200'] as { content: { 'application/json': { schema: Json } } };
    expect(ok.content['application/json'].schema.properties).toMatchObject({
      data: { $ref: '#/components/schemas/Conversation' },
    });
  });

  it('describes every 2xx answer and documents 429 everywhere but the probes, 413 wherever a body goes', () => {
    for (const { method, path, op } of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (status.startsWith('2')) {
          expect(response.description, `${method} ${path} ${status}`).not.toBe('Default Response');
        }
      }
      if (!path.startsWith('/health')) {
        expect(op.responses['429'], `${method} ${path}`).toEqual({
          $ref: '#/components/responses/TooManyRequests',
        });
      }
      if (op.requestBody) expect(op.responses['413'], `${method} ${path}`).toBeDefined();
    }
    const limited = (spec.components.responses as Record<string, Json>).TooManyRequests;
    expect(limited.headers).toHaveProperty('Retry-After');
  });

  it('leaves query parameters with a default optional', () => {
    const withDefault = operations.flatMap(({ method, path, op }) =>
      (op.parameters ?? [])
        .filter((p) => p.in === 'query' && (p.schema as Json | undefined)?.default !== undefined)
        .map((p) => ({ at: `${method} ${path} ${p.name}`, required: p.required ?? false })),
    );
    expect(withDefault.map((p) => p.at)).toContain('get /api/v1/users limit');
    expect(withDefault.filter((p) => p.required)).toEqual([]);
  });

  it('writes nullable the OpenAPI 3.0 way: no null type, nullable only next to a type', () => {
    expect(spec.openapi).toBe('3.0.3');
    for (const node of nodes(spec)) {
      expect(node.type).not.toBe('null');
      if (node.nullable === true) expect(node.type, JSON.stringify(node)).toEqual(expect.any(String));
    }
  });
});

describe('CORS', () => {
  it('allows every method of every operation from an allowed origin (preflight)', async () => {
    const methods = new Set(operations.map((o) => o.method.toUpperCase()));
    expect([...methods]).toEqual(expect.arrayContaining(['PATCH', 'PUT', 'DELETE']));
    const crossSite = operations.filter((o) => !['get', 'head', 'post'].includes(o.method));
    expect(crossSite.length).toBeGreaterThanOrEqual(17);
    for (const { method, path } of crossSite) {
      const url = path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');
      const res = await app.inject({
        method: 'OPTIONS',
        url,
        headers: {
          origin: ORIGIN,
          'access-control-request-method': method.toUpperCase(),
          'access-control-request-headers': 'authorization, content-type',
        },
      });
      expect(res.statusCode, `${method} ${path}`).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(String(res.headers['access-control-allow-methods']).split(/,\s*/)).toContain(
        method.toUpperCase(),
      );
      expect(String(res.headers['access-control-allow-headers'])).toContain('authorization');
    }
  });

  it('answers the actual PATCH, PUT and DELETE with the allowed origin, and nothing to another origin', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    const calls = [
      ['PATCH', `/api/v1/messages/${id}`],
      ['PUT', `/api/v1/messages/${id}/pin`],
      ['DELETE', `/api/v1/messages/${id}`],
    ] as const;
    for (const [method, url] of calls) {
      const res = await app.inject({ method, url, headers: { origin: ORIGIN } });
      // No token: refused, but readable by the page (it can show the error).
      expect(res.statusCode).toBe(401);
      expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(res.headers['access-control-expose-headers']).toContain('x-request-id');
    }
    const stranger = await app.inject({
      method: 'OPTIONS',
      url: '/api/v1/messages/00000000-0000-4000-8000-000000000000',
      headers: { origin: 'http://evil.example.test', 'access-control-request-method': 'DELETE' },
    });
    expect(stranger.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('documentation pages in a browser', () => {
  it('does not upgrade requests over plain HTTP, and does over HTTPS', async () => {
    const plain = await app.inject({ method: 'GET', url: '/docs/' });
    expect(plain.statusCode).toBe(200);
    const policy = String(plain.headers['content-security-policy']);
    expect(policy).toContain("default-src 'self'");
    expect(policy).not.toContain('upgrade-insecure-requests');
    const secure = await app.inject({
      method: 'GET',
      url: '/docs/',
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(String(secure.headers['content-security-policy'])).toContain('upgrade-insecure-requests');
  });

  it('serves ReDoc without the CDN logo', async () => {
    const bundle = await app.inject({ method: 'GET', url: '/redoc/redoc.standalone.js' });
    expect(bundle.statusCode).toBe(200);
    expect(bundle.body).not.toContain('cdn.redoc.ly');
  });

  it('serves /favicon.ico', async () => {
    const res = await app.inject({ method: 'GET', url: '/favicon.ico' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/x-icon');
    expect([...res.rawPayload.subarray(0, 4)]).toEqual([0, 0, 1, 0]);
  });
});
