// deactivateUser / reactivateUser: what admin tools call to block and restore a local account.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deactivateUser, reactivateUser } from '../../src/identity/user-access.js';
import { buildTestApp } from '../helpers/app.js';

let app: FastifyInstance;

beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

async function login(username: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { username, password: 'the right password' },
  });
  return res;
}

describe('deactivateUser', () => {
  it('refuses tokens and refresh at once, blocks login, announces it; reactivation allows login again', async () => {
    await app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { username: 'blockme', password: 'the right password' },
    });
    const pair = (await login('blockme')).json().data;
    const headers = { authorization: `Bearer ${pair.access_token}` };
    const events: string[] = [];
    const offA = app.tma.bus.subscribe('user.deactivated', () => void events.push('user.deactivated'));
    const offB = app.tma.bus.subscribe('session.revoked', () => void events.push('session.revoked'));

    expect(await deactivateUser(app.tma, pair.user.id)).toBe(true);
    offA();
    offB();
    expect(events.sort()).toEqual(['session.revoked', 'user.deactivated']);
    const me = await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers });
    expect(me.statusCode).toBe(401);
    expect(['session_revoked', 'user_deactivated']).toContain(me.json().error.code);
    const refresh = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refresh_token: pair.refresh_token },
    });
    expect(refresh.statusCode).toBe(401);
    expect((await login('blockme')).json().error.code).toBe('user_deactivated');

    expect(await reactivateUser(app.tma, pair.user.id)).toBe(true);
    const again = await login('blockme');
    expect(again.statusCode).toBe(200);
    const fresh = { authorization: `Bearer ${again.json().data.access_token}` };
    expect((await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: fresh })).statusCode).toBe(
      200,
    );
  });

  it('answers false for an unknown user', async () => {
    expect(await deactivateUser(app.tma, '01900000-0000-7000-8000-00000000dead')).toBe(false);
    expect(await reactivateUser(app.tma, '01900000-0000-7000-8000-00000000dead')).toBe(false);
  });
});
