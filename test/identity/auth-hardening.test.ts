// Rate limits before authentication, tokens naming users that do not exist, and revocations that outlive the cache.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokens } from '../../src/identity/access-tokens.js';
import { revokedSessionKey, userStateKey } from '../../src/identity/revocation.js';
import { deactivateUser } from '../../src/identity/user-access.js';
import { buildTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';
import { closeAllSockets, refusal } from '../helpers/sockets.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function tokens(app: FastifyInstance): AccessTokens {
  const authenticator = app.tma.authenticator;
  if (!(authenticator instanceof AccessTokens)) throw new Error('needs AUTH_MODE=local');
  return authenticator;
}

/** Forgets the cached auth state: every key of the app's prefix with Redis, the given keys in memory. */
async function flushCache(app: FastifyInstance, keys: string[]): Promise<void> {
  const { redis, config, cache } = app.tma;
  if (!redis) {
    for (const key of keys) await cache.delete(key);
    return;
  }
  let cursor = '0';
  const found: string[] = [];
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${config.redisKeyPrefix}*`, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  expect(found.length).toBeGreaterThan(0);
  await redis.del(...found);
}

async function register(app: FastifyInstance, username: string) {
  await app.inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { username, password: 'correct horse battery staple' },
  });
  const login = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { username, password: 'correct horse battery staple' },
  });
  expect(login.statusCode).toBe(200);
  return login.json().data as { access_token: string; refresh_token: string; user: { id: string } };
}

describe('per-IP rate limit before authentication', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp({ RATE_LIMIT_GLOBAL_PER_MINUTE: '20' });
  });
  afterAll(async () => {
    await app.close();
  });

  it('counts requests with no token or a forged one, then answers 429 with Retry-After', async () => {
    const remoteAddress = '198.51.100.7';
    const statuses: number[] = [];
    let last: Awaited<ReturnType<FastifyInstance['inject']>> | undefined;
    for (let i = 0; i < 40; i++) {
      const headers = i % 2 === 0 ? {} : bearer(`forged.${i}.token`);
      last = await app.inject({ method: 'GET', url: '/api/v1/conversations', headers, remoteAddress });
      statuses.push(last.statusCode);
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    expect(last?.json().error.code).toBe('rate_limited');
    expect(Number(last?.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(last?.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  it('limits each IP on its own, counts unknown routes, and never limits the health probes', async () => {
    const spent = '198.51.100.8';
    for (let i = 0; i < 20; i++) {
      const res = await app.inject({ method: 'GET', url: `/no/such/route/${i}`, remoteAddress: spent });
      expect(res.statusCode).toBe(404);
    }
    const refused = await app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: spent });
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('rate_limited');
    expect((await app.inject({ method: 'GET', url: '/health', remoteAddress: spent })).statusCode).toBe(200);
    const ready = await app.inject({ method: 'GET', url: '/health/ready', remoteAddress: spent });
    expect(ready.statusCode).toBe(200);
    const other = await app.inject({
      method: 'GET',
      url: '/api/v1/conversations',
      remoteAddress: '198.51.100.9',
    });
    expect(other.statusCode).toBe(401);
  });
});

describe('per-user rate limit after authentication', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp({ RATE_LIMIT_PER_MINUTE: '3', RATE_LIMIT_GLOBAL_PER_MINUTE: '1000' });
  });
  afterAll(async () => {
    await app.close();
  });

  it('gives each user their own budget, even behind one address', async () => {
    const alice = await createUser(app);
    const bob = await createUser(app);
    const remoteAddress = '203.0.113.5';
    const get = (headers: { authorization: string }) =>
      app.inject({ method: 'GET', url: '/api/v1/conversations', headers, remoteAddress });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(alice.headers)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await get(alice.headers);
    expect(limited.json().error.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await get(bob.headers)).statusCode).toBe(200);
  });
});

describe('tokens for users that do not exist', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    closeAllSockets();
    await app.close();
  });

  it('refuses a correctly signed token whose user does not exist with 401 token_invalid', async () => {
    const bob = await createUser(app);
    const ghost = await tokens(app).sign({ userId: randomUUID(), sessionId: randomUUID(), role: 'user' });
    const list = await app.inject({ method: 'GET', url: '/api/v1/conversations', headers: bearer(ghost) });
    expect(list.statusCode).toBe(401);
    expect(list.json().error.code).toBe('token_invalid');
    const create = await app.inject({
      method: 'POST',
      url: '/api/v1/conversations',
      headers: bearer(ghost),
      payload: { type: 'dm', member_ids: [bob.user.id] },
    });
    expect(create.statusCode).toBe(401);
    expect(create.json().error.code).toBe('token_invalid');
    expect((await refusal(app, ghost)).code).toBe('token_invalid');
  });

  it('refuses a token whose sub or sid is not a UUID with 401 token_invalid, never 500', async () => {
    const bob = await createUser(app);
    const badSub = await tokens(app).sign({ userId: 'not-a-uuid', sessionId: bob.sessionId, role: 'user' });
    const badSid = await tokens(app).sign({ userId: bob.user.id, sessionId: "x' OR 1=1", role: 'user' });
    for (const token of [badSub, badSid]) {
      for (const request of [
        { method: 'GET' as const, url: '/api/v1/conversations' },
        { method: 'GET' as const, url: '/api/v1/auth/me' },
        {
          method: 'POST' as const,
          url: '/api/v1/conversations',
          payload: { type: 'dm', member_ids: [bob.user.id] },
        },
      ]) {
        const res = await app.inject({ ...request, headers: bearer(token) });
        expect(res.statusCode).toBe(401);
        expect(res.json().error.code).toBe('token_invalid');
      }
      expect((await refusal(app, token)).code).toBe('token_invalid');
    }
  });

  it('answers a known token from the cache: no database query once warm, the ghost one included', async () => {
    const alice = await createUser(app);
    const { database } = app.tma;
    const cold = await database.countQueries(() => tokens(app).authenticate(alice.token));
    expect(cold).toBeGreaterThan(0);
    const warm = await database.countQueries(async () => {
      for (let i = 0; i < 20; i++) await tokens(app).authenticate(alice.token);
    });
    expect(warm).toBe(0);
    const ghost = await tokens(app).sign({ userId: randomUUID(), sessionId: randomUUID(), role: 'user' });
    await expect(tokens(app).authenticate(ghost)).rejects.toMatchObject({ code: 'token_invalid' });
    const again = await database.countQueries(() =>
      expect(tokens(app).authenticate(ghost)).rejects.toMatchObject({ code: 'token_invalid' }),
    );
    expect(again).toBe(0);
  });
});

describe('revocations survive a cache flush', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });
  afterEach(() => closeAllSockets());

  it('keeps a logged-out access token refused with 401 session_revoked', async () => {
    const pair = await register(app, 'flushme');
    const me = () =>
      app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(pair.access_token) });
    expect((await me()).statusCode).toBe(200);
    const logout = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: bearer(pair.access_token),
    });
    expect(logout.statusCode).toBe(200);
    expect((await me()).json().error.code).toBe('session_revoked');

    const { sid } = JSON.parse(Buffer.from(pair.access_token.split('.')[1] ?? '', 'base64url').toString());
    await flushCache(app, [revokedSessionKey(sid), userStateKey(pair.user.id)]);
    const after = await me();
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe('session_revoked');
    expect((await refusal(app, pair.access_token)).code).toBe('session_revoked');
    // Read back from the database once, then answered by the cache again.
    const queries = await app.tma.database.countQueries(() =>
      expect(tokens(app).authenticate(pair.access_token)).rejects.toMatchObject({ code: 'session_revoked' }),
    );
    expect(queries).toBe(0);
  });

  it('keeps a deactivated user refused with 401 user_deactivated, and a live login working', async () => {
    const gone = await register(app, 'flushgone');
    const kept = await register(app, 'flushkept');
    expect(await deactivateUser(app.tma, gone.user.id)).toBe(true);
    const sids = [gone, kept].map(
      (p) =>
        JSON.parse(Buffer.from(p.access_token.split('.')[1] ?? '', 'base64url').toString()).sid as string,
    );
    await flushCache(app, [
      ...sids.map(revokedSessionKey),
      userStateKey(gone.user.id),
      userStateKey(kept.user.id),
    ]);
    const refused = await app.inject({
      method: 'GET',
      url: '/api/v1/conversations',
      headers: bearer(gone.access_token),
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.code).toBe('user_deactivated');
    const served = await app.inject({
      method: 'GET',
      url: '/api/v1/conversations',
      headers: bearer(kept.access_token),
    });
    expect(served.statusCode).toBe(200);
  });
});
