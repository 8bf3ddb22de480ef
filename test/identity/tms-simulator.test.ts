// The TMS simulator's own HTTP contract: users, batch, updated_since, refresh/logout and the dev endpoints.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockPast } from '../helpers/clock.js';
import { startTestTms, type TmsSimulator } from '../helpers/tms.js';

let sim: TmsSimulator;
const key = { 'x-api-key': 'tms-test-api-key' };

const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = key) => {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  sim = await startTestTms();
});
afterAll(async () => {
  await sim.stop();
});

describe('TMS simulator', () => {
  it('serves users by id, in batches and by updated_since, behind the API key', async () => {
    expect((await call('GET', '/users/tms-u-1')).body).toMatchObject({ username: 'alice', active: true });
    expect((await call('GET', '/users/nobody')).status).toBe(404);
    expect((await call('GET', '/users/tms-u-1', undefined, {})).status).toBe(401);
    const batch = await call('POST', '/users/batch', { ids: ['tms-u-2', 'tms-u-3', 'nope'] });
    expect((batch.body.users as Array<{ id: string }>).map((u) => u.id)).toEqual(['tms-u-2', 'tms-u-3']);
    const all = await call('GET', '/users');
    expect(all.body.users).toHaveLength(4);
    const since = new Date().toISOString();
    await clockPast(Date.parse(since));
    const patched = await call('PATCH', '/dev/users/tms-u-4', { display_name: 'Dave D.' });
    expect(patched.body).toMatchObject({ display_name: 'Dave D.' });
    const changed = await call('GET', `/users?updated_since=${encodeURIComponent(since)}`);
    expect((changed.body.users as Array<{ id: string }>).map((u) => u.id)).toEqual(['tms-u-4']);
  });

  it('mints HS256/RS256/ES256 tokens; the JWKS verifies them and follows a rotation', async () => {
    const minted = await call('POST', '/dev/tokens', { user_id: 'tms-u-2', alg: 'RS256' });
    const token = minted.body.access_token as string;
    const jwks = createRemoteJWKSet(new URL(sim.jwksUrl), { cooldownDuration: 0 });
    const { payload } = await jwtVerify(token, jwks, { issuer: sim.issuer, audience: sim.audience });
    expect(payload).toMatchObject({ sub: 'tms-u-2', sid: minted.body.sid });
    const oldKid = decodeProtectedHeader(token).kid;
    await call('POST', '/dev/keys/rotate');
    const fresh = await sim.mintToken('tms-u-2', { alg: 'ES256' });
    expect(decodeProtectedHeader(fresh).kid).not.toBe(oldKid);
    await expect(jwtVerify(fresh, jwks)).resolves.toBeDefined();
    await expect(jwtVerify(token, jwks)).rejects.toThrow();
    expect((await call('POST', '/dev/tokens', { user_id: 'ghost' })).status).toBe(404);
    const hs = await sim.mintToken('tms-u-1');
    expect(decodeProtectedHeader(hs).alg).toBe('HS256');
  });

  it('rotates refresh tokens and refuses them after logout', async () => {
    const session = await sim.issueSession('tms-u-3');
    const refreshed = await call('POST', '/auth/refresh', { refresh_token: session.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.sid).toBe(session.sid);
    expect((await call('POST', '/auth/refresh', { refresh_token: session.refresh_token })).status).toBe(401);
    await call('POST', '/auth/logout', { refresh_token: refreshed.body.refresh_token });
    expect(sim.loggedOut.has(session.sid)).toBe(true);
    expect(
      (await call('POST', '/auth/refresh', { refresh_token: refreshed.body.refresh_token })).status,
    ).toBe(401);
  });

  it('stops and restarts on the same port', async () => {
    const url = sim.url;
    await sim.stop();
    await expect(fetch(`${url}/health`)).rejects.toThrow();
    await sim.start();
    expect(sim.url).toBe(url);
    expect((await call('GET', '/health')).body).toEqual({ status: 'ok' });
  });
});
