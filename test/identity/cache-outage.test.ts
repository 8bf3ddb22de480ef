// With the shared cache unreachable, revocation checks fall back to the database instead of failing requests.
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokens } from '../../src/identity/access-tokens.js';
import { SessionsRepository } from '../../src/identity/sessions.repository.js';
import { TmsAuthenticator } from '../../src/identity/tms-authenticator.js';
import { TmsDirectory } from '../../src/identity/tms-directory.js';
import { TolerantCache } from '../../src/identity/tolerant-cache.js';
import type { Cache } from '../../src/platform/cache.js';
import { buildTestApp, TEST_JWT_SECRET } from '../helpers/app.js';
import { buildTmsApp, startTestTms, type TmsSimulator, tmsIdentity } from '../helpers/tms.js';

const brokenCache: Cache = {
  get: () => Promise.reject(new Error('connection refused')),
  set: () => Promise.reject(new Error('connection refused')),
  delete: () => Promise.reject(new Error('connection refused')),
};
const logger = pino({ level: 'silent' });

describe('local access tokens with the cache down', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  async function session(username: string) {
    await app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { username, password: 'the right password' },
    });
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username, password: 'the right password' },
    });
    return res.json().data as { access_token: string; user: { id: string } };
  }

  it('reads revocations and deactivations from the database', async () => {
    const sessions = new SessionsRepository(app.tma.db);
    const tokens = new AccessTokens(TEST_JWT_SECRET, 900, brokenCache, (sid, userId) =>
      sessions.revocationState(sid, userId),
    );
    const live = await session('cachelive');
    await expect(tokens.authenticate(live.access_token)).resolves.toMatchObject({ userId: live.user.id });

    const out = await session('cacheout');
    await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { authorization: `Bearer ${out.access_token}` },
    });
    await expect(tokens.authenticate(out.access_token)).rejects.toMatchObject({ code: 'session_revoked' });

    await app.tma.services.usersRepository.update(live.user.id, { deactivated_at: new Date() });
    await expect(tokens.authenticate(live.access_token)).rejects.toMatchObject({ code: 'user_deactivated' });
  });

  it('without a fallback the cache error propagates', async () => {
    const tokens = new AccessTokens(TEST_JWT_SECRET, 900, brokenCache);
    const { access_token } = await session('nofallback');
    await expect(tokens.authenticate(access_token)).rejects.toThrow('connection refused');
  });
});

describe('TMS tokens with the cache down', () => {
  let sim: TmsSimulator;
  let app: FastifyInstance;
  beforeAll(async () => {
    sim = await startTestTms();
    app = await buildTmsApp(sim);
  });
  afterAll(async () => {
    await app.close();
    await sim.stop();
  });

  it('known users are read from the database and new ones still get created', async () => {
    const { client } = tmsIdentity(app);
    const tolerant = new TolerantCache(brokenCache, logger);
    const directory = new TmsDirectory(app.tma, client, tolerant);
    const config = app.tma.config.tms;
    if (!config) throw new Error('TMS config missing');
    const authenticator = new TmsAuthenticator(config, app.tma.config.jwtSecret, tolerant, directory);
    const first = await authenticator.authenticate(await sim.mintToken('tms-u-2'));
    const again = await authenticator.authenticate(await sim.mintToken('tms-u-2'));
    expect(again.userId).toBe(first.userId);
    await app.tma.services.usersRepository.update(first.userId, { deactivated_at: new Date() });
    await expect(authenticator.authenticate(await sim.mintToken('tms-u-2'))).rejects.toMatchObject({
      code: 'user_deactivated',
    });
  });
});
