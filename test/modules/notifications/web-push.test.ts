// Web Push end to end: a local HTTPS push service (self-signed, trusted through NODE_EXTRA_CA_CERTS, which
// vitest.config.ts sets before the workers start) receives aes128gcm payloads this test decrypts, signed with a
// VAPID JWT that verifies with the key GET /push/vapid-public-key publishes. 410 deletes the device; 429 is retried.
import { createECDH, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { decrypt } from 'http_ece';
import { importJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../helpers/app.js';
import { createDm, createUser, sendMessage, type TestUser } from '../../helpers/factories.js';
import { deliveriesOf, registerDevice } from './helpers.js';

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/push/${name}`, import.meta.url));

let pushService: Server;
let origin: string;
const received: Received[] = [];
/** Statuses to answer per path, in order (then 201). */
const script = new Map<string, Array<{ status: number; headers?: Record<string, string> }>>();

let app: FastifyInstance;
let alice: TestUser;

beforeAll(async () => {
  pushService = createServer(
    { key: fixture('push-service.key'), cert: fixture('push-service.crt') },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        received.push({ path, headers: req.headers, body: Buffer.concat(chunks) });
        const next = script.get(path)?.shift() ?? { status: 201 };
        res.writeHead(next.status, next.headers).end();
      });
    },
  );
  await new Promise<void>((resolve) => pushService.listen(0, '127.0.0.1', resolve));
  origin = `https://127.0.0.1:${(pushService.address() as AddressInfo).port}`;
  app = await buildTestApp({
    PUSH_ENDPOINT_ALLOWLIST: '127.0.0.1',
    PUSH_COALESCE_MS: '0',
    JOB_POLL_INTERVAL_MS: '500',
  });
  alice = await createUser(app, { displayName: 'Alice' });
});
afterAll(async () => {
  await app.close();
  await new Promise((resolve) => pushService.close(resolve));
});

/** A browser subscription: its own P-256 key pair and auth secret, at a path of the local push service. */
function browserSubscription(path: string) {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return {
    ecdh,
    auth,
    push: {
      endpoint: `${origin}${path}`,
      keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
    },
  };
}

async function publishedKey(user: TestUser): Promise<string> {
  const res = await app.inject({
    method: 'GET',
    url: '/api/v1/push/vapid-public-key',
    headers: user.headers,
  });
  expect(res.statusCode).toBe(200);
  return res.json().data.public_key;
}

describe('Web Push', () => {
  it('delivers an aes128gcm payload the subscriber decrypts, with a VAPID JWT that verifies with the published key', async () => {
    const bob = await createUser(app);
    const dm = await createDm(app, alice, bob);
    const sub = browserSubscription(`/push/${bob.user.id}`);
    await registerDevice(app, bob, sub.push, 'web');

    await sendMessage(app, alice, dm.id, 'hello over web push');
    await expect
      .poll(() => received.filter((r) => r.path === `/push/${bob.user.id}`).length, { timeout: 15_000 })
      .toBe(1);
    const push = received.find((r) => r.path === `/push/${bob.user.id}`) as Received;

    expect(push.headers['content-encoding']).toBe('aes128gcm');
    const payload = JSON.parse(
      decrypt(push.body, { version: 'aes128gcm', privateKey: sub.ecdh, authSecret: sub.auth }).toString(
        'utf8',
      ),
    );
    expect(payload).toMatchObject({
      title: 'Alice',
      body: 'hello over web push',
      type: 'message',
      conversation_id: dm.id,
      count: '1',
    });

    const key = await publishedKey(bob);
    const authorization = String(push.headers.authorization);
    const match = /^vapid t=([^,]+), k=(.+)$/.exec(authorization);
    expect(match, authorization).not.toBeNull();
    const [, jwt, k] = match as RegExpExecArray;
    expect(k).toBe(key);
    const raw = Buffer.from(key, 'base64url');
    const publicKey = await importJWK(
      {
        kty: 'EC',
        crv: 'P-256',
        x: raw.subarray(1, 33).toString('base64url'),
        y: raw.subarray(33, 65).toString('base64url'),
      },
      'ES256',
    );
    const { payload: claims } = await jwtVerify(jwt as string, publicKey, { audience: origin });
    expect(claims.sub).toMatch(/^(mailto:|https:)/);
    await expect
      .poll(async () => (await deliveriesOf(app, bob.user.id)).map((d) => d.status))
      .toEqual(['sent']);
  });

  it('deletes the device when the push service answers 410 Gone', async () => {
    const carol = await createUser(app);
    const dm = await createDm(app, alice, carol);
    const path = `/push/${carol.user.id}`;
    script.set(path, [{ status: 410 }]);
    const device = await registerDevice(app, carol, browserSubscription(path).push, 'web');

    await sendMessage(app, alice, dm.id, 'anyone there?');
    await expect
      .poll(async () => app.tma.db.selectFrom('devices').select('id').where('id', '=', device.id).execute(), {
        timeout: 15_000,
      })
      .toEqual([]);
  });

  it('retries after 429 with Retry-After and delivers exactly once', async () => {
    const dave = await createUser(app);
    const dm = await createDm(app, alice, dave);
    const path = `/push/${dave.user.id}`;
    script.set(path, [{ status: 429, headers: { 'retry-after': '1' } }]);
    await registerDevice(app, dave, browserSubscription(path).push, 'web');

    await sendMessage(app, alice, dm.id, 'slow down');
    await expect
      .poll(async () => (await deliveriesOf(app, dave.user.id)).map((d) => [d.status, d.attempts]), {
        timeout: 20_000,
      })
      .toEqual([['sent', 2]]);
    expect(received.filter((r) => r.path === path)).toHaveLength(2);
  });
});
