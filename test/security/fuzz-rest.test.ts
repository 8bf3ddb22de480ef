// Property: whatever a client sends to any operation of the API (params, query, body, token), the answer is never
// a 5xx and is always the JSON envelope. Every operation of /openapi.json, at least FUZZ_RUNS cases each.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { arbitraryFor, FUZZ_RUNS, hostileString, type JsonSchema, resolver } from './fuzz-helpers.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;
const ids: string[] = [];

interface Operation {
  method: string;
  path: string;
  params: Array<{ name: string; in: string; schema: JsonSchema }>;
  body: JsonSchema | undefined;
}

// Collected at import time from a throwaway app, so each operation gets its own test.
const operations: Operation[] = [];
let spec: JsonSchema = {};
{
  const probe = await buildTestApp();
  spec = (await probe.inject({ method: 'GET', url: '/openapi.json' })).json() as JsonSchema;
  await probe.close();
  for (const [path, item] of Object.entries(spec.paths as Record<string, Record<string, JsonSchema>>)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const body = (op.requestBody as { content?: Record<string, { schema?: JsonSchema }> } | undefined)
        ?.content?.['application/json']?.schema;
      operations.push({
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []) as Operation['params'],
        body,
      });
    }
  }
}
const resolve = resolver(spec);

beforeAll(async () => {
  app = await buildTestApp();
  [alice, bob] = await Promise.all([createUser(app), createUser(app)]);
  const group = await app.inject({
    method: 'POST',
    url: '/api/v1/conversations',
    headers: alice.headers,
    payload: { type: 'group', name: 'Fuzz', member_ids: [bob.user.id] },
  });
  const conversationId = group.json().data.id as string;
  const message = await app.inject({
    method: 'POST',
    url: `/api/v1/conversations/${conversationId}/messages`,
    headers: alice.headers,
    payload: { content: 'fuzz target', client_id: randomUUID() },
  });
  const poll = await app.inject({
    method: 'POST',
    url: `/api/v1/conversations/${conversationId}/polls`,
    headers: alice.headers,
    payload: { question: 'Q?', options: ['a', 'b'] },
  });
  ids.push(conversationId, message.json().data.id, alice.user.id, bob.user.id);
  if (poll.statusCode < 300) ids.push(poll.json().data.poll.id);
});
afterAll(async () => {
  await app.close();
});

function requestFor(op: Operation) {
  const pathParams = op.params.filter((p) => p.in === 'path');
  const queryParams = op.params.filter((p) => p.in === 'query');
  const param = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...ids) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: hostileString.filter((s) => s.length > 0 && s.length < 2000) },
  );
  const query = fc.record(
    Object.fromEntries(queryParams.map((p) => [p.name, arbitraryFor(p.schema ?? {}, resolve)])),
    { requiredKeys: [] },
  );
  const auth = fc.oneof(
    { weight: 8, arbitrary: fc.constant<'alice' | 'none' | 'forged'>('alice') },
    { weight: 1, arbitrary: fc.constantFrom<'alice' | 'none' | 'forged'>('none', 'forged') },
  );
  const body = op.body ? arbitraryFor(op.body, resolve) : fc.constant(undefined);
  return fc.record({
    path: fc.array(param, { minLength: pathParams.length, maxLength: pathParams.length }),
    query,
    auth,
    body,
  });
}

/** Percent-encodes like a hostile client may: a lone surrogate goes out as the (invalid) UTF-8 bytes of one. */
function encode(value: string): string {
  let out = '';
  for (const ch of value) {
    try {
      out += encodeURIComponent(ch);
    } catch {
      out += '%ED%A0%80';
    }
  }
  return out;
}

function url(op: Operation, pathValues: string[], query: Record<string, unknown>): string {
  let i = 0;
  const path = op.path.replace(/\{[^}]+\}/g, () => encode(pathValues[i++] ?? ''));
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value])
      pairs.push(`${encode(key)}=${encode(typeof v === 'string' ? v : JSON.stringify(v))}`);
  }
  return pairs.length > 0 ? `${path}?${pairs.join('&')}` : path;
}

describe('no request to any operation yields a 5xx', () => {
  it('the spec lists the operations', () => {
    expect(operations.length).toBeGreaterThan(40);
  });

  for (const op of operations) {
    it(`${op.method} ${op.path}`, async () => {
      await fc.assert(
        fc.asyncProperty(requestFor(op), async ({ path, query, auth, body }) => {
          // Logging out (or refreshing) would end the shared session: those get a user of their own.
          const user = op.path.startsWith('/api/v1/auth/') ? await createUser(app) : alice;
          const headers: Record<string, string> =
            auth === 'alice'
              ? { ...user.headers }
              : auth === 'forged'
                ? { authorization: `Bearer ${user.token}x` }
                : {};
          let payload: string | undefined;
          if (body !== undefined) {
            payload = JSON.stringify(body);
            headers['content-type'] = 'application/json';
          }
          const res = await app.inject({
            method: op.method as 'GET',
            url: url(op, path, query),
            headers,
            payload,
          });
          if (res.statusCode >= 500) throw new Error(`${res.statusCode} ${res.body.slice(0, 300)}`);
          if (res.headers['content-type']?.toString().includes('application/json')) {
            const envelope = res.json() as { success?: unknown };
            expect(typeof envelope.success).toBe('boolean');
          }
        }),
        { numRuns: FUZZ_RUNS },
      );
    });
  }
});
