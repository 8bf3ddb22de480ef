// POST /webhooks/tms: signatures, time window, replays, and what each event does to access and profiles.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTmsApp,
  listenForWebhooks,
  startTestTms,
  TMS_TEST_WEBHOOK_SECRET,
  type TmsSimulator,
  tmsHeaders,
} from '../helpers/tms.js';

let sim: TmsSimulator;
let app: FastifyInstance;
let hookUrl: string;

const me = (headers: Record<string, string>) =>
  app.inject({ method: 'GET', url: '/api/v1/auth/me', headers });

beforeAll(async () => {
  sim = await startTestTms();
  app = await buildTmsApp(sim);
  hookUrl = await listenForWebhooks(app);
});
afterAll(async () => {
  await app.close();
  await sim.stop();
});

describe('POST /webhooks/tms signature checks', () => {
  it('accepts a good signature', async () => {
    const res = await sim.sendWebhook(hookUrl, { type: 'user.updated', data: { user_id: 'tms-u-4' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, data: { received: true, applied: true } });
  });

  it('refuses a bad signature, a wrong secret and missing headers with 401 signature_invalid', async () => {
    const bad = await sim.sendWebhook(
      hookUrl,
      { type: 'user.deactivated', data: { user_id: 'tms-u-2' } },
      { signature: `sha256=${'0'.repeat(64)}` },
    );
    expect(bad.status).toBe(401);
    expect(bad.body).toMatchObject({ error: { code: 'signature_invalid' } });
    const wrongSecret = await sim.sendWebhook(
      hookUrl,
      { type: 'user.deactivated', data: { user_id: 'tms-u-2' } },
      { secret: 'not-the-secret' },
    );
    expect(wrongSecret.status).toBe(401);
    const missing = await app.inject({
      method: 'POST',
      url: '/api/v1/webhooks/tms',
      payload: { id: 'x1', type: 'user.deactivated', data: { user_id: 'tms-u-2' } },
    });
    expect(missing.statusCode).toBe(401);
    expect(missing.json().error.code).toBe('signature_invalid');
    // The user was never deactivated by any of these.
    expect((await me(await tmsHeaders(sim, 'tms-u-2'))).statusCode).toBe(200);
  });

  it('refuses a body changed after signing', async () => {
    const raw = JSON.stringify({ id: randomUUID(), type: 'user.deactivated', data: { user_id: 'tms-u-2' } });
    const ts = Math.floor(Date.now() / 1000);
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/webhooks/tms',
      headers: {
        'content-type': 'application/json',
        'x-tms-timestamp': String(ts),
        'x-tms-signature': sim.signWebhook(raw, ts),
      },
      payload: raw.replace('tms-u-2', 'tms-u-1'),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('signature_invalid');
  });

  it('refuses an old (or future) timestamp with 401 signature_expired', async () => {
    const old = await sim.sendWebhook(
      hookUrl,
      { type: 'user.deactivated', data: { user_id: 'tms-u-2' } },
      { timestamp: Math.floor(Date.now() / 1000) - 301 },
    );
    expect(old.status).toBe(401);
    expect(old.body).toMatchObject({ error: { code: 'signature_expired' } });
    const future = await sim.sendWebhook(
      hookUrl,
      { type: 'user.deactivated', data: { user_id: 'tms-u-2' } },
      { timestamp: Math.floor(Date.now() / 1000) + 600 },
    );
    expect(future.status).toBe(401);
  });

  it('refuses a replayed event id with 409 webhook_replayed', async () => {
    const id = randomUUID();
    const first = await sim.sendWebhook(hookUrl, { id, type: 'user.updated', data: { user_id: 'tms-u-3' } });
    expect(first.status).toBe(200);
    const replay = await sim.sendWebhook(hookUrl, { id, type: 'user.updated', data: { user_id: 'tms-u-3' } });
    expect(replay.status).toBe(409);
    expect(replay.body).toMatchObject({ error: { code: 'webhook_replayed' } });
  });

  it('answers 400 for a signed but malformed body and 422 for missing data', async () => {
    const raw = '{"id": "abc", "type": ';
    const ts = Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'x-tms-timestamp': String(ts),
      'x-tms-signature': sim.signWebhook(raw, ts),
    };
    const malformed = await app.inject({
      method: 'POST',
      url: '/api/v1/webhooks/tms',
      headers,
      payload: raw,
    });
    expect(malformed.statusCode).toBe(400);
    const noType = JSON.stringify({ id: 'abc' });
    const invalid = await app.inject({
      method: 'POST',
      url: '/api/v1/webhooks/tms',
      headers: { ...headers, 'x-tms-signature': sim.signWebhook(noType, ts) },
      payload: noType,
    });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.code).toBe('validation_error');
    const noUser = await sim.sendWebhook(hookUrl, { type: 'user.deactivated', data: {} });
    expect(noUser.status).toBe(422);
    expect(noUser.body).toMatchObject({ error: { code: 'invalid_webhook' } });
    const oversized = await sim.sendWebhook(hookUrl, {
      type: 'user.updated',
      data: { user_id: 'tms-u-3', pad: 'x'.repeat(300 * 1024) },
    });
    expect(oversized.status).toBe(413);
  });

  it('acknowledges unknown event types without applying them', async () => {
    const res = await sim.sendWebhook(hookUrl, {
      type: 'team.created' as 'user.updated',
      data: { team_id: 't1' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ data: { applied: false } });
  });
});

describe('webhook effects', () => {
  it('user.updated refreshes the display name seen through the API at once', async () => {
    const headers = await tmsHeaders(sim, 'tms-u-3');
    expect((await me(headers)).json().data.display_name).toBe('Carol Chen');
    const updates: string[] = [];
    const off = app.tma.bus.subscribe('user.updated', (e) => void updates.push(e.user_id));
    sim.updateUser('tms-u-3', { display_name: 'Carol C. Chen', position: 'VP Product' });
    const res = await sim.sendWebhook(hookUrl, { type: 'user.updated', data: { user_id: 'tms-u-3' } });
    off();
    expect(res.status).toBe(200);
    const after = (await me(headers)).json().data;
    expect(after).toMatchObject({ display_name: 'Carol C. Chen', position: 'VP Product' });
    expect(updates).toEqual([after.id]);
  });

  it('user.updated carrying the profile applies it without calling TMS', async () => {
    const headers = await tmsHeaders(sim, 'tms-u-1');
    await me(headers);
    const calls = sim.calls.get('GET /users/:id') ?? 0;
    const profile = { ...sim.users.get('tms-u-1'), display_name: 'Alice From Payload' };
    await sim.sendWebhook(hookUrl, { type: 'user.updated', data: { user_id: 'tms-u-1', user: profile } });
    expect((await me(headers)).json().data.display_name).toBe('Alice From Payload');
    expect(sim.calls.get('GET /users/:id') ?? 0).toBe(calls);
  });

  it('user.deactivated blocks access at once and publishes user.deactivated', async () => {
    sim.upsertUser({ id: 'tms-d-1', username: 'leaver' });
    const headers = await tmsHeaders(sim, 'tms-d-1');
    const user = (await me(headers)).json().data;
    const seen: string[] = [];
    const off = app.tma.bus.subscribe('user.deactivated', (e) => void seen.push(e.user_id));
    const res = await sim.sendWebhook(hookUrl, { type: 'user.deactivated', data: { user_id: 'tms-d-1' } });
    off();
    expect(res.status).toBe(200);
    const after = await me(headers);
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe('user_deactivated');
    expect(seen).toEqual([user.id]);
    const row = await app.tma.services.usersRepository.findById(user.id);
    expect(row?.deactivated_at).toBeInstanceOf(Date);
  });

  it('user.deleted blocks access too; a later active profile restores it', async () => {
    sim.upsertUser({ id: 'tms-d-2', username: 'deleted1' });
    const headers = await tmsHeaders(sim, 'tms-d-2');
    expect((await me(headers)).statusCode).toBe(200);
    await sim.sendWebhook(hookUrl, { type: 'user.deleted', data: { user_id: 'tms-d-2' } });
    expect((await me(headers)).statusCode).toBe(401);
    await sim.sendWebhook(hookUrl, { type: 'user.updated', data: { user_id: 'tms-d-2' } });
    expect((await me(headers)).statusCode).toBe(200);
  });

  it('session.revoked makes that session 401 on the next request, other sessions keep working', async () => {
    const revoked = await sim.issueSession('tms-u-4');
    const other = await sim.issueSession('tms-u-4');
    const headers = { authorization: `Bearer ${revoked.access_token}` };
    const user = (await me(headers)).json().data;
    const events: Array<{ session_id: string; user_id: string }> = [];
    const off = app.tma.bus.subscribe('session.revoked', (e) => void events.push(e));
    const res = await sim.sendWebhook(hookUrl, {
      type: 'session.revoked',
      data: { session_id: revoked.sid, user_id: 'tms-u-4' },
    });
    off();
    expect(res.status).toBe(200);
    const after = await me(headers);
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe('session_revoked');
    expect(events).toEqual([{ session_id: revoked.sid, user_id: user.id }]);
    expect((await me({ authorization: `Bearer ${other.access_token}` })).statusCode).toBe(200);
  });

  it('the simulator dev endpoint sends signed webhooks', async () => {
    const res = await fetch(`${sim.url}/dev/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target_url: hookUrl, type: 'user.updated', data: { user_id: 'tms-u-2' } }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 200 });
  });
});

describe('webhooks without a configured secret', () => {
  it('answers 503 webhooks_disabled', async () => {
    const plain = await buildTmsApp(sim, { TMS_WEBHOOK_SECRET: '' });
    try {
      const raw = JSON.stringify({ id: 'n1', type: 'user.updated', data: { user_id: 'tms-u-2' } });
      const ts = Math.floor(Date.now() / 1000);
      const res = await plain.inject({
        method: 'POST',
        url: '/api/v1/webhooks/tms',
        headers: {
          'content-type': 'application/json',
          'x-tms-timestamp': String(ts),
          'x-tms-signature': sim.signWebhook(raw, ts, TMS_TEST_WEBHOOK_SECRET),
        },
        payload: raw,
      });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('webhooks_disabled');
    } finally {
      await plain.close();
    }
  });
});
