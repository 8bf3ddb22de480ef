// AUTH_MODE=tms against the real simulator: token validation, first-sight users, roles, refresh/logout pass-through.
import type { FastifyInstance } from 'fastify';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTmsApp, startTestTms, type TmsSimulator, tmsHeaders, tmsIdentity } from '../helpers/tms.js';

let sim: TmsSimulator;
let app: FastifyInstance;

const me = (headers: Record<string, string>) =>
  app.inject({ method: 'GET', url: '/api/v1/auth/me', headers });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  sim = await startTestTms();
  app = await buildTmsApp(sim, { TMS_ROLE_MAP: '{"admin":"admin","manager":"admin"}' });
});
afterAll(async () => {
  await app.close();
  await sim.stop();
});

describe('TMS tokens', () => {
  it('accepts a valid HS256 token and creates the local user at first sight', async () => {
    const before = await app.tma.services.usersRepository.findByTmsId('tms-u-2');
    expect(before).toBeUndefined();
    const res = await me(await tmsHeaders(sim, 'tms-u-2'));
    expect(res.statusCode).toBe(200);
    const user = res.json().data;
    expect(user).toMatchObject({
      username: 'bob',
      display_name: 'Bob Builder',
      position: 'Engineer',
      email: 'bob@tms.example',
      tms_user_id: 'tms-u-2',
      role: 'user',
    });
    expect(user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    const row = await app.tma.services.usersRepository.findByTmsId('tms-u-2');
    expect(row?.id).toBe(user.id);
    // Seen again: the same local row.
    const again = await me(await tmsHeaders(sim, 'tms-u-2'));
    expect(again.json().data.id).toBe(user.id);
  });

  it('maps TMS roles through TMS_ROLE_MAP (role and roles claims)', async () => {
    expect((await me(await tmsHeaders(sim, 'tms-u-1'))).json().data.role).toBe('admin');
    const manager = await me(await tmsHeaders(sim, 'tms-u-3'));
    expect(manager.json().data.role).toBe('admin');
    const actor = await tmsIdentity(app).authenticator.authenticate(
      await sim.mintToken('tms-u-3', { roles: ['employee', 'intern'] }),
    );
    expect(actor.role).toBe('user');
    const admin = await tmsIdentity(app).authenticator.authenticate(
      await sim.mintToken('tms-u-4', { roles: ['employee', 'admin'] }),
    );
    expect(admin.role).toBe('admin');
    expect(admin.sessionId).toEqual(expect.any(String));
  });

  it('refuses an expired token with 401 token_expired (beyond the 30 s skew)', async () => {
    const expired = await me(await tmsHeaders(sim, 'tms-u-2', { expiresIn: -120 }));
    expect(expired.statusCode).toBe(401);
    expect(expired.json().error.code).toBe('token_expired');
    const withinSkew = await me(await tmsHeaders(sim, 'tms-u-2', { expiresIn: -10 }));
    expect(withinSkew.statusCode).toBe(200);
  });

  it('refuses a wrong signature, wrong issuer, wrong audience, missing exp and alg none with token_invalid', async () => {
    const cases = [
      await tmsHeaders(sim, 'tms-u-2', { secret: 'some-other-secret-some-other-secret-123' }),
      await tmsHeaders(sim, 'tms-u-2', { issuer: 'https://evil.example' }),
      await tmsHeaders(sim, 'tms-u-2', { audience: 'someone-else' }),
      await tmsHeaders(sim, 'tms-u-2', { noExp: true }),
      bearer(
        new UnsecuredJWT({ sid: 'x' })
          .setSubject('tms-u-2')
          .setIssuer('https://tms.test')
          .setAudience('tma')
          .setExpirationTime('5m')
          .encode(),
      ),
      bearer('not-a-jwt'),
    ];
    for (const headers of cases) {
      const res = await me(headers);
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('token_invalid');
    }
  });

  it('refuses an HS384 token and an RS256 token signed by a key not in the JWKS', async () => {
    const hs384 = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS384' })
      .setSubject('tms-u-2')
      .setIssuer('https://tms.test')
      .setAudience('tma')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(sim.jwtSecret));
    expect((await me(bearer(hs384))).json().error.code).toBe('token_invalid');
    const other = await startTestTms();
    try {
      const foreign = await other.mintToken('tms-u-2', { alg: 'RS256' });
      const res = await me(bearer(foreign));
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('token_invalid');
    } finally {
      await other.stop();
    }
  });

  it('refuses a token for a user TMS does not know with 401', async () => {
    const res = await me(await tmsHeaders(sim, 'tms-nobody'));
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('token_invalid');
  });

  it('refuses an inactive TMS user with 401 user_deactivated', async () => {
    sim.upsertUser({ id: 'tms-u-9', username: 'gone', active: false });
    const res = await me(await tmsHeaders(sim, 'tms-u-9'));
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('user_deactivated');
  });

  it('accepts RS256 and ES256 tokens through the JWKS and picks up a rotated key', async () => {
    const rs = await me(await tmsHeaders(sim, 'tms-u-4', { alg: 'RS256' }));
    expect(rs.statusCode).toBe(200);
    expect(rs.json().data.username).toBe('dave');
    expect((await me(await tmsHeaders(sim, 'tms-u-4', { alg: 'ES256' }))).statusCode).toBe(200);
    await sim.rotateKeys();
    const jwksFetches = sim.calls.get('GET /.well-known/jwks.json') ?? 0;
    const rotated = await me(await tmsHeaders(sim, 'tms-u-4', { alg: 'RS256' }));
    expect(rotated.statusCode).toBe(200);
    expect(sim.calls.get('GET /.well-known/jwks.json')).toBe(jwksFetches + 1);
    // Known kid again: served from the cached key set.
    await me(await tmsHeaders(sim, 'tms-u-4', { alg: 'ES256' }));
    expect(sim.calls.get('GET /.well-known/jwks.json')).toBe(jwksFetches + 1);
  });

  it('does not query TMS per request once a user is known', async () => {
    const headers = await tmsHeaders(sim, 'tms-u-1');
    await me(headers);
    const userCalls = sim.calls.get('GET /users/:id') ?? 0;
    for (let i = 0; i < 3; i++) expect((await me(headers)).statusCode).toBe(200);
    expect(sim.calls.get('GET /users/:id') ?? 0).toBe(userCalls);
  });
});

describe('local account routes in TMS mode', () => {
  it('refuses register and login with 403 local_auth_disabled', async () => {
    const reg = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { username: 'someone', password: 'a fine password' },
    });
    expect(reg.statusCode).toBe(403);
    expect(reg.json().error.code).toBe('local_auth_disabled');
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'bob', password: 'a fine password' },
    });
    expect(login.statusCode).toBe(403);
  });
});

describe('POST /auth/refresh and /auth/logout pass through to TMS', () => {
  it('refresh returns a new pair from TMS; a bad refresh token gets 401', async () => {
    const session = await sim.issueSession('tms-u-2');
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refresh_token: session.refresh_token },
    });
    expect(res.statusCode).toBe(200);
    const pair = res.json().data;
    expect(pair).toMatchObject({ token_type: 'Bearer', user: { username: 'bob' } });
    expect(pair.refresh_token).not.toBe(session.refresh_token);
    expect((await me(bearer(pair.access_token))).statusCode).toBe(200);
    const reused = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refresh_token: session.refresh_token },
    });
    expect(reused.statusCode).toBe(401);
    expect(reused.json().error.code).toBe('token_invalid');
  });

  it('logout revokes the session here at once and in TMS', async () => {
    const session = await sim.issueSession('tms-u-3');
    const headers = bearer(session.access_token);
    expect((await me(headers)).statusCode).toBe(200);
    const revoked: string[] = [];
    const off = app.tma.bus.subscribe('session.revoked', (e) => void revoked.push(e.session_id));
    const out = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers,
      payload: { refresh_token: session.refresh_token },
    });
    off();
    expect(out.statusCode).toBe(200);
    expect(out.json().data).toEqual({ logged_out: true, tms_synced: true });
    expect(sim.loggedOut.has(session.sid)).toBe(true);
    expect(revoked).toEqual([session.sid]);
    const after = await me(headers);
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe('session_revoked');
    const refresh = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refresh_token: session.refresh_token },
    });
    expect(refresh.statusCode).toBe(401);
  });
});

describe('directory', () => {
  it('creates unseen members from one batched TMS call, and reuses existing rows', async () => {
    sim.upsertUser({ id: 'tms-b-1', username: 'batch1', display_name: 'Batch One' });
    sim.upsertUser({ id: 'tms-b-2', username: 'batch2' });
    const before = sim.calls.get('POST /users/batch') ?? 0;
    const rows = await tmsIdentity(app).directory.ensureLocalUsers([
      'tms-b-1',
      'tms-b-2',
      'tms-u-2',
      'tms-zzz',
    ]);
    expect(rows.map((r) => r.tms_user_id).sort()).toEqual(['tms-b-1', 'tms-b-2', 'tms-u-2']);
    expect(sim.calls.get('POST /users/batch')).toBe(before + 1);
    const again = await tmsIdentity(app).directory.ensureLocalUsers(['tms-b-1', 'tms-b-2']);
    expect(again).toHaveLength(2);
    expect(sim.calls.get('POST /users/batch')).toBe(before + 1);
  });

  it('gives a TMS user whose username a local account holds a suffixed username', async () => {
    await app.tma.services.usersRepository.insert({
      id: '01900000-0000-7000-8000-000000000001',
      username: 'clash',
      settings: {},
    });
    sim.upsertUser({ id: 'tms-clash', username: 'clash' });
    const res = await me(await tmsHeaders(sim, 'tms-clash'));
    expect(res.statusCode).toBe(200);
    expect(res.json().data.username).toMatch(/^clash-[0-9a-f]{4}$/);
  });
});
