// Local accounts: register, login, me, refresh rotation and reuse detection, logout, error codes, rate limits.
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';

let app: FastifyInstance;
let n = 0;

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: `/api/v1${url}`, payload: payload as object, headers });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function uniqueName(prefix = 'user'): string {
  n++;
  return `${prefix}${n}_${Math.random().toString(36).slice(2, 7)}`;
}

async function register(username = uniqueName(), password = 'correct horse battery', email?: string) {
  const res = await post('/auth/register', {
    username,
    password,
    email: email ?? `${username}@example.test`,
  });
  expect(res.statusCode).toBe(201);
  return { username, password, email: email ?? `${username}@example.test`, user: res.json().data };
}

async function login(username: string, password: string) {
  const res = await post('/auth/login', { username, password });
  expect(res.statusCode).toBe(200);
  return res.json().data as { access_token: string; refresh_token: string; user: { id: string } };
}

beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

describe('POST /auth/register', () => {
  it('makes every account a user, the first one too (admins are seeded, not raced for)', async () => {
    const first = await register('firstuser');
    expect(first.user).toMatchObject({
      username: 'firstuser',
      role: 'user',
      email: 'firstuser@example.test',
    });
    expect(first.user.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.user).not.toHaveProperty('password_hash');
    const second = await register();
    expect(second.user.role).toBe('user');
    expect(second.user.display_name).toBe(second.username);
  });

  it('refuses a taken username case-insensitively with 409 username_taken', async () => {
    const { username } = await register();
    const res = await post('/auth/register', {
      username: username.toUpperCase(),
      password: 'another good one',
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('username_taken');
  });

  it('refuses a taken email with 409 email_taken', async () => {
    const { email } = await register();
    const res = await post('/auth/register', { username: uniqueName(), password: 'another good one', email });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('email_taken');
  });

  it('refuses short, long and weak passwords', async () => {
    const short = await post('/auth/register', { username: uniqueName(), password: 'short' });
    expect(short.statusCode).toBe(400);
    expect(short.json().error).toMatchObject({ code: 'validation_error', details: { field: 'password' } });
    const long = await post('/auth/register', { username: uniqueName(), password: 'x'.repeat(129) });
    expect(long.statusCode).toBe(400);
    expect(long.json().error.code).toBe('validation_error');
    const common = await post('/auth/register', { username: uniqueName(), password: 'password123' });
    expect(common.statusCode).toBe(400);
    expect(common.json().error.code).toBe('weak_password');
    const name = uniqueName();
    const containsName = await post('/auth/register', { username: name, password: `${name}!x` });
    expect(containsName.json().error.code).toBe('weak_password');
  });

  it('refuses bad usernames, unknown fields, a bad email and malformed JSON with 400', async () => {
    for (const username of ['ab', 'has space', 'x'.repeat(33), 'emoji😀x', 'semi;colon']) {
      const res = await post('/auth/register', { username, password: 'a fine password' });
      expect(res.statusCode, username).toBe(400);
      expect(res.json().error.code).toBe('validation_error');
    }
    const extra = await post('/auth/register', {
      username: uniqueName(),
      password: 'a fine password',
      role: 'admin',
    });
    expect(extra.statusCode).toBe(400);
    const email = await post('/auth/register', {
      username: uniqueName(),
      password: 'a fine password',
      email: 'nope',
    });
    expect(email.statusCode).toBe(400);
    expect(email.json().error.details.field).toBe('email');
    const missing = await post('/auth/register', { username: uniqueName() });
    expect(missing.json().error.details.field).toBe('password');
    const malformed = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: '{"username": ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('validation_error');
  });

  it('accepts the allowed characters in usernames', async () => {
    const res = await post('/auth/register', { username: `A.b-c_${n++}`, password: 'a fine password' });
    expect(res.statusCode).toBe(201);
  });
});

describe('POST /auth/login and GET /auth/me', () => {
  it('logs in by username and by email and returns a token pair', async () => {
    const { username, password, email, user } = await register();
    const byName = await post('/auth/login', { username, password });
    expect(byName.statusCode).toBe(200);
    expect(byName.json().data).toMatchObject({
      token_type: 'Bearer',
      expires_in: 900,
      user: { id: user.id },
    });
    expect(byName.json().data.refresh_token).toEqual(expect.any(String));
    const byEmail = await post('/auth/login', { email: email.toUpperCase(), password });
    expect(byEmail.statusCode).toBe(200);
    expect(byEmail.json().data.user.id).toBe(user.id);
    const emailInUsername = await post('/auth/login', { username: email, password });
    expect(emailInUsername.statusCode).toBe(200);
  });

  it('GET /auth/me returns the caller with email and settings', async () => {
    const { username, password, user } = await register();
    const { access_token } = await login(username, password);
    const me = await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(access_token) });
    expect(me.statusCode).toBe(200);
    expect(me.json().data).toMatchObject({
      id: user.id,
      username,
      settings: { privacy: { read_receipts: true }, notifications: { enabled: true } },
    });
  });

  it('GET /auth/me refuses no token, a garbage token and a token signed with another key', async () => {
    const none = await app.inject({ method: 'GET', url: '/api/v1/auth/me' });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('unauthenticated');
    const garbage = await app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: bearer('abc.def.ghi'),
    });
    expect(garbage.statusCode).toBe(401);
    expect(garbage.json().error.code).toBe('token_invalid');
    const forged = await new SignJWT({ sid: 's', role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('00000000-0000-7000-8000-000000000000')
      .setIssuer('tma')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('another-secret-another-secret-another-secret'));
    const wrongKey = await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(forged) });
    expect(wrongKey.statusCode).toBe(401);
    expect(wrongKey.json().error.code).toBe('token_invalid');
  });

  it('answers the same 401 invalid_credentials for a wrong password and an unknown user', async () => {
    const { username } = await register();
    const wrong = await post('/auth/login', { username, password: 'not the password' });
    const unknown = await post('/auth/login', {
      username: uniqueName('ghost'),
      password: 'not the password',
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json().error).toEqual(unknown.json().error);
    expect(wrong.json().error.code).toBe('invalid_credentials');
  });

  it('refuses accounts without a password (created by TMS or factories)', async () => {
    const { user } = await createUser(app);
    const res = await post('/auth/login', { username: user.username, password: 'whatever it is' });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('invalid_credentials');
  });

  it('refuses a deactivated account with 401 user_deactivated', async () => {
    const { username, password, user } = await register();
    await app.tma.services.usersRepository.update(user.id, { deactivated_at: new Date() });
    const res = await post('/auth/login', { username, password });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('user_deactivated');
  });

  it('answers 400 when neither username nor email is given, or the body is malformed', async () => {
    const res = await post('/auth/login', { password: 'x' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
    const extra = await post('/auth/login', { username: 'a', password: 'x', admin: true });
    expect(extra.statusCode).toBe(400);
    const long = await post('/auth/login', { username: 'a', password: 'x'.repeat(200) });
    expect(long.statusCode).toBe(400);
  });
});

describe('POST /auth/refresh', () => {
  it('rotates: the new pair works, the old refresh token then fails', async () => {
    const { username, password } = await register();
    const first = await login(username, password);
    const res = await post('/auth/refresh', { refresh_token: first.refresh_token });
    expect(res.statusCode).toBe(200);
    const second = res.json().data;
    expect(second.refresh_token).not.toBe(first.refresh_token);
    const me = await app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: bearer(second.access_token),
    });
    expect(me.statusCode).toBe(200);
    const again = await post('/auth/refresh', { refresh_token: first.refresh_token });
    expect(again.statusCode).toBe(401);
    expect(again.json().error.code).toBe('refresh_token_reused');
  });

  it('reuse of a rotated token revokes the whole family, access tokens included', async () => {
    const { username, password } = await register();
    const first = await login(username, password);
    const second = (await post('/auth/refresh', { refresh_token: first.refresh_token })).json().data;
    const third = (await post('/auth/refresh', { refresh_token: second.refresh_token })).json().data;
    // An attacker replays the first token: everything of this login dies.
    expect((await post('/auth/refresh', { refresh_token: first.refresh_token })).statusCode).toBe(401);
    const latest = await post('/auth/refresh', { refresh_token: third.refresh_token });
    expect(latest.statusCode).toBe(401);
    expect(latest.json().error.code).toBe('session_revoked');
    const me = await app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: bearer(third.access_token),
    });
    expect(me.statusCode).toBe(401);
    expect(me.json().error.code).toBe('session_revoked');
    // Another login of the same user is untouched.
    const other = await login(username, password);
    const otherMe = await app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: bearer(other.access_token),
    });
    expect(otherMe.statusCode).toBe(200);
  });

  it('publishes session.revoked when a family is revoked', async () => {
    const { username, password, user } = await register();
    const seen: Array<{ session_id: string; user_id: string }> = [];
    const off = app.tma.bus.subscribe('session.revoked', (e) => void seen.push(e));
    const first = await login(username, password);
    await post('/auth/refresh', { refresh_token: first.refresh_token });
    await post('/auth/refresh', { refresh_token: first.refresh_token });
    off();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.user_id).toBe(user.id);
  });

  it('refuses an unknown refresh token, an expired one, and a malformed body', async () => {
    const unknown = await post('/auth/refresh', { refresh_token: 'nope' });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().error.code).toBe('token_invalid');
    const { username, password } = await register();
    const pair = await login(username, password);
    await app.tma.db
      .updateTable('sessions')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .execute();
    const expired = await post('/auth/refresh', { refresh_token: pair.refresh_token });
    expect(expired.statusCode).toBe(401);
    expect(expired.json().error.code).toBe('token_expired');
    const missing = await post('/auth/refresh', {});
    expect(missing.statusCode).toBe(400);
    const huge = await post('/auth/refresh', { refresh_token: 'x'.repeat(5000) });
    expect(huge.statusCode).toBe(400);
  });
});

describe('POST /auth/logout', () => {
  it('kills the access token at once and the refresh token too', async () => {
    const { username, password } = await register();
    const pair = await login(username, password);
    const out = await post('/auth/logout', {}, bearer(pair.access_token));
    expect(out.statusCode).toBe(200);
    expect(out.json().data).toEqual({ logged_out: true });
    const me = await app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: bearer(pair.access_token),
    });
    expect(me.statusCode).toBe(401);
    expect(me.json().error.code).toBe('session_revoked');
    const refresh = await post('/auth/refresh', { refresh_token: pair.refresh_token });
    expect(refresh.statusCode).toBe(401);
    expect(refresh.json().error.code).toBe('session_revoked');
  });

  it('works without a body and with a refresh token of the same user; refuses without a token', async () => {
    const { username, password } = await register();
    const pair = await login(username, password);
    const noBody = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: bearer(pair.access_token),
    });
    expect(noBody.statusCode).toBe(200);
    const unauthenticated = await post('/auth/logout', {});
    expect(unauthenticated.statusCode).toBe(401);
    const other = await login(username, password);
    const bad = await post('/auth/logout', { refresh_token: 1 }, bearer(other.access_token));
    expect(bad.statusCode).toBe(400);
  });

  it('logging out a factory session refuses its token', async () => {
    const { headers } = await createUser(app);
    expect((await post('/auth/logout', {}, headers)).statusCode).toBe(200);
    const me = await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers });
    expect(me.statusCode).toBe(401);
  });
});

describe('API documentation', () => {
  it('lists the auth routes with public ones carrying no security requirement', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(spec.paths['/api/v1/auth/login'].post.security).toEqual([]);
    expect(spec.paths['/api/v1/auth/register'].post.responses['201']).toBeDefined();
    expect(spec.paths['/api/v1/auth/me'].get.security).toBeUndefined();
  });
});

describe('auth rate limits', () => {
  let limited: FastifyInstance;
  beforeAll(async () => {
    limited = await buildTestApp({ AUTH_RATE_LIMIT_PER_MINUTE: '5' });
  });
  afterAll(async () => {
    await limited.close();
  });

  it('the 6th rapid failed login for one username gets 429 with Retry-After', async () => {
    const reg = await limited.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { username: 'victim', password: 'the right password' },
    });
    expect(reg.statusCode).toBe(201);
    for (let i = 0; i < 5; i++) {
      const res = await limited.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: 'victim', password: `wrong ${i}` },
        remoteAddress: `10.0.0.${i + 1}`,
      });
      expect(res.statusCode).toBe(401);
    }
    const sixth = await limited.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'VICTIM', password: 'the right password' },
      remoteAddress: '10.0.1.1',
    });
    expect(sixth.statusCode).toBe(429);
    expect(sixth.json().error.code).toBe('rate_limited');
    expect(Number(sixth.headers['retry-after'])).toBeGreaterThan(0);
    // Another username is not affected.
    const other = await limited.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'someone', password: 'wrong' },
      remoteAddress: '10.0.1.1',
    });
    expect(other.statusCode).toBe(401);
  });

  it('counts failures by account, whether the username or the email was typed', async () => {
    await limited.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { username: 'twofaced', password: 'the right password', email: 'two@example.test' },
      remoteAddress: '10.7.0.1',
    });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const payload = i % 2 === 0 ? { username: 'twofaced' } : { email: 'two@example.test' };
      const res = await limited.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { ...payload, password: `wrong ${i}` },
        remoteAddress: `10.7.1.${i}`,
      });
      statuses.push(res.statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('limits attempts per IP across usernames', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) {
      const res = await limited.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: `spray${i}`, password: 'wrong' },
        remoteAddress: '10.9.9.9',
      });
      statuses.push(res.statusCode);
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses[20]).toBe(429);
  });

  it('limits registrations per IP', async () => {
    let last = 0;
    for (let i = 0; i < 21; i++) {
      const res = await limited.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { username: `reg${i}x`, password: 'password123' },
        remoteAddress: '10.8.8.8',
      });
      last = res.statusCode;
    }
    expect(last).toBe(429);
  });
});
