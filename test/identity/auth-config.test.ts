// GET /auth/config (how a client signs in) and the TMS hand-off contract: TMS_LOGIN_URL, the simulator's sign-in
// page that sends people back with tokens in the fragment, and those tokens working at TMA.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { buildTestApp } from '../helpers/app.js';
import { buildTmsApp, startTestTms, type TmsSimulator } from '../helpers/tms.js';

const config = async (app: FastifyInstance) => {
  const res = await app.inject({ method: 'GET', url: '/api/v1/auth/config' });
  expect(res.statusCode).toBe(200);
  return res.json().data as { mode: string; registration: string; tms_login_url: string | null };
};

describe('GET /auth/config', () => {
  it('answers local mode and the registration policy, without a token', async () => {
    for (const registration of ['open', 'closed']) {
      const app = await buildTestApp({ REGISTRATION: registration });
      try {
        expect(await config(app)).toEqual({ mode: 'local', registration, tms_login_url: null });
      } finally {
        await app.close();
      }
    }
  });

  it('refuses a method it does not serve and ignores a bearer that is not valid', async () => {
    const app = await buildTestApp();
    try {
      const post = await app.inject({ method: 'POST', url: '/api/v1/auth/config', payload: {} });
      expect(post.statusCode).toBe(404);
      const bad = await app.inject({
        method: 'GET',
        url: '/api/v1/auth/config',
        headers: { authorization: 'Bearer not-a-token' },
      });
      expect(bad.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('rejects a TMS_LOGIN_URL that is not an http(s) address, naming the variable', () => {
    const tms = { AUTH_MODE: 'tms', TMS_API_URL: 'https://tms.example', JWT_SECRET: 'x'.repeat(32) };
    for (const value of ['javascript:alert(1)', 'not a url', 'ftp://tms.example/login']) {
      try {
        loadConfig({ ...tms, TMS_LOGIN_URL: value });
        expect.unreachable(`TMS_LOGIN_URL=${value} was accepted`);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).problems.some((p) => p.startsWith('TMS_LOGIN_URL:'))).toBe(true);
      }
    }
    expect(loadConfig({ ...tms, TMS_LOGIN_URL: 'https://tms.example/login' }).tms?.loginUrl).toBe(
      'https://tms.example/login',
    );
  });
});

describe('the TMS hand-off', () => {
  let sim: TmsSimulator;
  let app: FastifyInstance;
  let plain: FastifyInstance;

  beforeAll(async () => {
    sim = await startTestTms();
    app = await buildTmsApp(sim, { TMS_LOGIN_URL: `${sim.url}/login` });
    plain = await buildTmsApp(sim);
  });
  afterAll(async () => {
    await app?.close();
    await plain?.close();
    await sim?.stop();
  });

  it('tells clients where TMS signs people in, and null when TMS_LOGIN_URL is unset', async () => {
    expect(await config(app)).toEqual({
      mode: 'tms',
      registration: 'closed',
      tms_login_url: `${sim.url}/login`,
    });
    expect((await config(plain)).tms_login_url).toBeNull();
  });

  it('sends the person back to return_to with working tokens and the state in the fragment', async () => {
    const page = await fetch(
      `${sim.url}/login?return_to=${encodeURIComponent('http://tma.test/c/1')}&state=s1`,
    );
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('value="tms-u-2"');
    expect(html).toContain('name="state" value="s1"');

    const back = await fetch(
      `${sim.url}/login/continue?user_id=tms-u-2&state=s1&return_to=${encodeURIComponent('http://tma.test/c/1#old')}`,
      { redirect: 'manual' },
    );
    expect(back.status).toBe(303);
    const location = new URL(back.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe('http://tma.test/c/1');
    const fragment = new URLSearchParams(location.hash.slice(1));
    expect(fragment.get('state')).toBe('s1');
    expect(fragment.get('token_type')).toBe('Bearer');
    expect(Number(fragment.get('expires_in'))).toBeGreaterThan(0);

    const me = await app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${fragment.get('access_token')}` },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json().data).toMatchObject({ username: 'bob' });

    const refreshed = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refresh_token: fragment.get('refresh_token') },
    });
    expect(refreshed.statusCode).toBe(200);
    expect(refreshed.json().data.user).toMatchObject({ username: 'bob' });
  });

  it('refuses a return_to that is missing or not http(s), an unknown user, and escapes what it echoes', async () => {
    for (const returnTo of ['', 'javascript:alert(1)', 'not a url']) {
      const res = await fetch(`${sim.url}/login?return_to=${encodeURIComponent(returnTo)}`);
      expect(res.status).toBe(400);
      const next = await fetch(
        `${sim.url}/login/continue?user_id=tms-u-1&return_to=${encodeURIComponent(returnTo)}`,
        { redirect: 'manual' },
      );
      expect(next.status).toBe(400);
    }
    const ghost = await fetch(
      `${sim.url}/login/continue?user_id=ghost&return_to=${encodeURIComponent('http://tma.test/')}`,
      { redirect: 'manual' },
    );
    expect(ghost.status).toBe(404);
    const echoed = await fetch(
      `${sim.url}/login?return_to=${encodeURIComponent('http://tma.test/')}&state=${encodeURIComponent('"><script>')}`,
    );
    expect(await echoed.text()).toContain('value="&#34;&#62;&#60;script&#62;"');
  });

  it('keeps local register and login refused in TMS mode', async () => {
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'bob', password: 'whatever-password' },
    });
    expect(login.statusCode).toBe(403);
    expect(login.json().error.code).toBe('local_auth_disabled');
  });
});
