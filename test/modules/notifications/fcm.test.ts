// FCM HTTP v1 against a local stand-in (OAuth2 token endpoint + messages:send): the expected body with a cached
// bearer token, 404 unregisters the device, 503 (Retry-After) is retried and then delivered once.
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../helpers/app.js';
import { createDm, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';
import { deliveriesOf, registerDevice } from './helpers.js';

interface Sent {
  authorization: string | undefined;
  body: {
    message: { token: string; notification: { title: string; body: string }; data: Record<string, string> };
  };
}

let fcm: Server;
let base: string;
const tokenRequests: URLSearchParams[] = [];
const sent: Sent[] = [];
/** Statuses to answer per device token, in order (then 200). */
const script = new Map<string, Array<{ status: number; headers?: Record<string, string> }>>();

let app: FastifyInstance;
let alice: TestUser;

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });

beforeAll(async () => {
  fcm = createServer(async (req, res) => {
    const text = await readBody(req);
    if (req.url === '/token') {
      tokenRequests.push(new URLSearchParams(text));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'stand-in-token', expires_in: 3600, token_type: 'Bearer' }));
      return;
    }
    if (req.url === '/v1/projects/tma-test/messages:send' && req.method === 'POST') {
      const body = JSON.parse(text) as Sent['body'];
      sent.push({ authorization: req.headers.authorization, body });
      const next = script.get(body.message.token)?.shift() ?? { status: 200 };
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
      res.end(
        JSON.stringify(
          next.status === 200 ? { name: 'projects/tma-test/messages/1' } : { error: { status: 'X' } },
        ),
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => fcm.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(fcm.address() as AddressInfo).port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const account = {
    type: 'service_account',
    project_id: 'tma-test',
    client_email: 'push@tma-test.iam.gserviceaccount.com',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  app = await buildTestApp({
    FCM_SERVICE_ACCOUNT: JSON.stringify(account),
    FCM_BASE_URL: base,
    FCM_TOKEN_URL: `${base}/token`,
    PUSH_COALESCE_MS: '0',
    JOB_POLL_INTERVAL_MS: '500',
  });
  alice = await createUser(app, { displayName: 'Alice' });
});
afterAll(async () => {
  await app.close();
  await new Promise((resolve) => fcm.close(resolve));
});

async function dmWithDevice(token: string) {
  const user = await createUser(app);
  const dm = await createDm(app, alice, user);
  const device = await registerDevice(app, user, { token }, 'android');
  return { user, dm: dm.id, device: device.id };
}

describe('FCM HTTP v1', () => {
  it('sends the expected body with a bearer token from the service account, fetched once', async () => {
    const { user, dm } = await dmWithDevice('token-expected');
    await sendMessage(app, alice, dm, 'hello over fcm');
    await expect
      .poll(() => sent.filter((s) => s.body.message.token === 'token-expected').length, { timeout: 15_000 })
      .toBe(1);
    const [request] = sent.filter((s) => s.body.message.token === 'token-expected');
    expect(request?.authorization).toBe('Bearer stand-in-token');
    expect(request?.body.message).toMatchObject({
      token: 'token-expected',
      notification: { title: 'Alice', body: 'hello over fcm' },
      data: { type: 'message', conversation_id: dm, count: '1' },
    });
    expect(tokenRequests[0]?.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    expect(tokenRequests[0]?.get('assertion')?.split('.')).toHaveLength(3);
    await expect
      .poll(async () => (await deliveriesOf(app, user.user.id)).map((d) => d.status))
      .toEqual(['sent']);

    await sendMessage(app, alice, dm, 'second');
    await expect
      .poll(() => sent.filter((s) => s.body.message.token === 'token-expected').length, { timeout: 15_000 })
      .toBe(2);
    expect(tokenRequests).toHaveLength(1);
  });

  it('unregisters the device when FCM answers 404 (UNREGISTERED)', async () => {
    script.set('token-gone', [{ status: 404 }]);
    const { dm, device } = await dmWithDevice('token-gone');
    await sendMessage(app, alice, dm, 'are you there');
    await expect
      .poll(async () => app.tma.db.selectFrom('devices').select('id').where('id', '=', device).execute(), {
        timeout: 15_000,
      })
      .toEqual([]);
  });

  it('retries a 503 after its Retry-After and delivers once', async () => {
    script.set('token-busy', [{ status: 503, headers: { 'retry-after': '1' } }]);
    const { user, dm } = await dmWithDevice('token-busy');
    await sendMessage(app, alice, dm, 'busy?');
    await expect
      .poll(async () => (await deliveriesOf(app, user.user.id)).map((d) => [d.status, d.attempts]), {
        timeout: 20_000,
      })
      .toEqual([['sent', 2]]);
    expect(sent.filter((s) => s.body.message.token === 'token-busy')).toHaveLength(2);
  });

  it('does not retry a 400 and gives up after three 5xx', async () => {
    script.set('token-bad', [{ status: 400 }]);
    script.set('token-down', [{ status: 500 }, { status: 502 }, { status: 503 }, { status: 503 }]);
    const bad = await dmWithDevice('token-bad');
    const down = await dmWithDevice('token-down');
    await sendMessage(app, alice, bad.dm, 'x');
    await sendMessage(app, alice, down.dm, 'y');
    await expect
      .poll(async () => (await deliveriesOf(app, bad.user.user.id)).map((d) => [d.status, d.attempts]), {
        timeout: 15_000,
      })
      .toEqual([['failed', 1]]);
    await expect
      .poll(async () => (await deliveriesOf(app, down.user.user.id)).map((d) => [d.status, d.attempts]), {
        timeout: 30_000,
      })
      .toEqual([['failed', 3]]);
    expect(sent.filter((s) => s.body.message.token === 'token-down')).toHaveLength(3);
  });

  it('counts deliveries per channel and outcome in /metrics', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.body).toMatch(/tma_notification_deliveries_total\{channel="fcm",outcome="sent"\} [1-9]/);
    expect(res.body).toMatch(/tma_notification_deliveries_total\{channel="fcm",outcome="gone"\} 1/);
  });
});
