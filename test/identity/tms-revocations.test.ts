// TMS mode: a revoked login stays revoked after the cache forgets it (Redis flushed or restarted empty), because
// the revocation is stored in PostgreSQL; a session never revoked is still admitted after the flush.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokedSessionKey } from '../../src/identity/revocation.js';
import { RevokedSessionsRepository } from '../../src/identity/revoked-sessions.repository.js';
import { buildTmsApp, listenForWebhooks, startTestTms, type TmsSimulator } from '../helpers/tms.js';

let sim: TmsSimulator;
let app: FastifyInstance;
let hookUrl: string;

beforeAll(async () => {
  sim = await startTestTms();
  app = await buildTmsApp(sim);
  hookUrl = await listenForWebhooks(app);
  sim.upsertUser({ id: 'tms-rev-1', username: 'revoker' });
});
afterAll(async () => {
  await app.close();
  await sim.stop();
});

const me = (token: string) =>
  app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } });

/** What a Redis flush does to the revocation flags: the cached answers are gone. */
async function forget(...sids: string[]): Promise<void> {
  for (const sid of sids) await app.tma.cache.delete(revokedSessionKey(sid));
}

describe('TMS session revocations survive a cache flush', () => {
  it('session.revoked by webhook: still 401 session_revoked after the cache forgets it', async () => {
    const revoked = await sim.issueSession('tms-rev-1');
    const other = await sim.issueSession('tms-rev-1');
    expect((await me(revoked.access_token)).statusCode).toBe(200);
    const res = await sim.sendWebhook(hookUrl, {
      type: 'session.revoked',
      data: { session_id: revoked.sid },
    });
    expect(res.status).toBe(200);
    await forget(revoked.sid, other.sid);

    const after = await me(revoked.access_token);
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe('session_revoked');
    expect((await me(other.access_token)).statusCode).toBe(200);
    // The answer read from the database is cached again: the next check is one cache lookup.
    expect(await app.tma.cache.get(revokedSessionKey(revoked.sid))).toBe(true);
  });

  it('logout through TMA: still 401 session_revoked after the cache forgets it', async () => {
    const session = await sim.issueSession('tms-rev-1');
    const out = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { authorization: `Bearer ${session.access_token}` },
      payload: {},
    });
    expect(out.statusCode).toBeLessThan(300);
    await forget(session.sid);
    const after = await me(session.access_token);
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe('session_revoked');
  });

  it('expired revocations are pruned', async () => {
    const repo = new RevokedSessionsRepository(app.tma.db);
    await repo.record('old-sid', -1);
    await repo.record('fresh-sid', 3600);
    expect(await repo.isRevoked('old-sid')).toBe(false);
    expect(await repo.prune()).toBeGreaterThanOrEqual(1);
    expect(await repo.isRevoked('fresh-sid')).toBe(true);
  });
});
