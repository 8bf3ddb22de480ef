// Channel suites: the app listening on a known port (PUBLIC_URL is where the simulators call back), two
// Twilio/SendGrid simulators (A and B, for failover), and waits for channel message statuses.
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import {
  type ProviderSimulator,
  startProviderSimulator,
} from '../../../src/providers-simulator/simulator.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser, type TestUser } from '../../helpers/factories.js';

export const TEAM_NUMBER = '+15550001111';
export const TEAM_EMAIL = 'support@team.example';
export const INBOUND_TOKEN = 'test-inbound-token';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

export interface ChannelRig {
  app: FastifyInstance;
  publicUrl: string;
  simA: ProviderSimulator;
  simB: ProviderSimulator;
  admin: TestUser;
  agent: TestUser;
  outsider: TestUser;
  smsInboxId: string;
  emailInboxId: string;
  close(): Promise<void>;
}

/** Providers: twilio A then B for sms/mms, sendgrid A for e-mail (plus extra entries, e.g. SMTP). */
export async function channelRig(
  options: { extraProviders?: object[]; env?: Record<string, string>; provider?: object } = {},
): Promise<ChannelRig> {
  const simA = await startProviderSimulator({});
  const simB = await startProviderSimulator({
    accountSid: 'AC000000000000000000000000000000bb',
    authToken: 'token-b',
  });
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const fast = {
    timeout_ms: 2000,
    retries: 1,
    retry_base_ms: 5,
    breaker_threshold: 2,
    half_open_after_ms: 3000,
    ...options.provider,
  };
  const providers = [
    {
      name: 'tw-a',
      kind: 'twilio',
      channels: ['sms', 'mms'],
      base_url: simA.url,
      account_sid: simA.accountSid,
      auth_token: simA.authToken,
      ...fast,
    },
    {
      name: 'tw-b',
      kind: 'twilio',
      channels: ['sms', 'mms'],
      base_url: simB.url,
      account_sid: simB.accountSid,
      auth_token: simB.authToken,
      ...fast,
    },
    {
      name: 'sg-a',
      kind: 'sendgrid',
      channels: ['email'],
      base_url: simA.url,
      api_key: simA.apiKey,
      event_public_key: simA.eventPublicKey,
      inbound_token: INBOUND_TOKEN,
      ...fast,
    },
    ...(options.extraProviders ?? []),
  ];
  const app = await buildTestApp({
    CHANNEL_PROVIDERS: JSON.stringify(providers),
    PUBLIC_URL: publicUrl,
    JOB_POLL_INTERVAL_MS: '500',
    SHUTDOWN_TIMEOUT_MS: '1000',
    LINK_PREVIEW_ALLOWLIST: '127.0.0.1',
    ...options.env,
  });
  await app.listen({ port, host: '127.0.0.1' });
  const admin = await createUser(app, { role: 'admin' });
  const agent = await createUser(app);
  const outsider = await createUser(app);
  const smsInboxId = await createInbox(app, admin, {
    channel: 'sms',
    address: TEAM_NUMBER,
    name: 'Support SMS',
    member_ids: [agent.user.id],
  });
  const emailInboxId = await createInbox(app, admin, {
    channel: 'email',
    address: TEAM_EMAIL,
    name: 'Support mail',
    member_ids: [agent.user.id],
  });
  return {
    app,
    publicUrl,
    simA,
    simB,
    admin,
    agent,
    outsider,
    smsInboxId,
    emailInboxId,
    async close() {
      await app.close();
      await simA.stop();
      await simB.stop();
    },
  };
}

export async function createInbox(app: FastifyInstance, admin: TestUser, payload: object): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/channels/inboxes',
    headers: admin.headers,
    payload,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().data.id;
}

export function send(app: FastifyInstance, user: TestUser, key: string | undefined, payload: object) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/channels/messages',
    headers: { ...user.headers, ...(key === undefined ? {} : { 'idempotency-key': key }) },
    payload,
  });
}

export async function channelMessage(app: FastifyInstance, id: string) {
  return app.tma.db.selectFrom('channel_messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** Polls until the channel message reaches one of `statuses` (jobs and callbacks run asynchronously). */
export async function waitForStatus(
  app: FastifyInstance,
  id: string,
  statuses: string[],
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await channelMessage(app, id);
    if (statuses.includes(row.status)) return row;
    if (Date.now() > deadline)
      throw new Error(`channel message ${id} stayed ${row.status}, expected ${statuses.join('|')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function waitFor<T>(
  read: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function eventsOf(app: FastifyInstance, id: string) {
  return app.tma.db
    .selectFrom('channel_message_events')
    .selectAll()
    .where('channel_message_id', '=', id)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}
