// Socket doors: the default namespace `/` refuses everyone, and WebSocket upgrades (Socket.IO and /ws) check a
// browser's Origin against ALLOWED_ORIGINS before the socket opens; native clients (no Origin) still connect.
import { request } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { io as connectClient } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildTestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { closeAllSockets, connectSocket, listen, refusal } from '../helpers/sockets.js';

const ALLOWED = 'https://chat.example';
const EVIL = 'https://evil.example';

let app: FastifyInstance;
let base: string;
let alice: TestUser;

beforeAll(async () => {
  app = await buildTestApp({
    ALLOWED_ORIGINS: `${ALLOWED},https://admin.example`,
    SOCKET_ALLOW_POLLING: 'true',
  });
  base = await listen(app);
  alice = await createUser(app);
});
afterEach(() => closeAllSockets());
afterAll(async () => {
  await app.close();
});

/** The status a raw WebSocket upgrade gets (101 when the socket opens). */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': Buffer.from('0123456789abcdef').toString('base64'),
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Connects a socket.io-client with the given headers; resolves 'connected' or the connect_error message. */
function socketIoOutcome(headers: Record<string, string>, token = alice.token): Promise<string> {
  const socket = connectClient(`${base}/messaging`, {
    transports: ['websocket'],
    auth: { token },
    extraHeaders: headers,
    reconnection: false,
    forceNew: true,
    timeout: 5000,
  });
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.close();
      resolve('connected');
    });
    socket.once('connect_error', (err) => {
      socket.close();
      resolve(err.message);
    });
  });
}

/** Opens /ws with the given Origin (or none); resolves the first frame type, or the refused status. */
function wsOutcome(origin: string | undefined): Promise<string> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`, {
    headers: { authorization: `Bearer ${alice.token}` },
    ...(origin === undefined ? {} : { origin }),
  });
  return new Promise((resolve) => {
    ws.once('message', (raw) => {
      ws.close();
      resolve(String((JSON.parse(raw.toString()) as { type: unknown }).type));
    });
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      resolve(`http ${res.statusCode}`);
    });
    ws.once('error', () => resolve('error'));
  });
}

describe('the default namespace /', () => {
  it('refuses a socket without a token', async () => {
    expect((await refusal(app, undefined, '/')).code).toBe('namespace_not_found');
  });

  it('refuses a socket with a valid token too: it serves nothing', async () => {
    expect((await refusal(app, alice.token, '/')).code).toBe('namespace_not_found');
    // The served namespaces still accept the same token.
    expect((await connectSocket(app, alice.token, '/messaging')).connected).toBe(true);
  });
});

describe('Origin on Socket.IO upgrades', () => {
  const path = '/socket.io/?EIO=4&transport=websocket';

  it('answers 403 to a browser origin outside ALLOWED_ORIGINS, before the socket opens', async () => {
    expect(await upgradeStatus(`${base}${path}`, { origin: EVIL })).toBe(403);
    expect(await socketIoOutcome({ origin: EVIL })).toBe('websocket error');
  });

  it('refuses a literal null origin and a non-http origin', async () => {
    expect(await upgradeStatus(`${base}${path}`, { origin: 'null' })).toBe(403);
    expect(await upgradeStatus(`${base}${path}`, { origin: 'file://' })).toBe(403);
  });

  it('accepts an allowed origin, a client without Origin, and a page of this server', async () => {
    expect(await upgradeStatus(`${base}${path}`, { origin: ALLOWED })).toBe(101);
    expect(await socketIoOutcome({ origin: ALLOWED })).toBe('connected');
    expect(await socketIoOutcome({ origin: 'https://admin.example' })).toBe('connected');
    expect(await socketIoOutcome({})).toBe('connected');
    expect(await socketIoOutcome({ origin: base })).toBe('connected');
  });

  it('still needs a token from an allowed origin', async () => {
    expect(await socketIoOutcome({ origin: ALLOWED }, 'not-a-token')).not.toBe('connected');
  });

  it('answers 403 to a long-polling handshake from a refused origin', async () => {
    const url = `${base}/socket.io/?EIO=4&transport=polling`;
    const refused = await fetch(url, { headers: { origin: EVIL } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('origin_not_allowed');
    const accepted = await fetch(url, { headers: { origin: ALLOWED } });
    expect(accepted.status).toBe(200);
    await accepted.text();
  });

  it('counts refused origins', async () => {
    await upgradeStatus(`${base}${path}`, { origin: EVIL });
    const metrics = await app.realtime.metrics.registry.getSingleMetricAsString(
      'tma_realtime_refusals_total',
    );
    expect(metrics).toMatch(/code="origin_not_allowed"} [1-9]/);
  });
});

describe('Origin on /ws upgrades', () => {
  it('answers 403 to a browser origin outside ALLOWED_ORIGINS', async () => {
    expect(await upgradeStatus(`${base}/ws`, { origin: EVIL })).toBe(403);
    expect(await wsOutcome(EVIL)).toBe('http 403');
  });

  it('accepts an allowed origin and a client without Origin', async () => {
    expect(await wsOutcome(ALLOWED)).toBe('ready');
    expect(await wsOutcome(undefined)).toBe('ready');
  });
});

describe('ALLOWED_ORIGINS=*', () => {
  it('lets any origin open a socket on both transports', async () => {
    const open = await buildTestApp({ ALLOWED_ORIGINS: '*' });
    try {
      const url = await listen(open);
      const bob = await createUser(open);
      expect(await upgradeStatus(`${url}/socket.io/?EIO=4&transport=websocket`, { origin: EVIL })).toBe(101);
      const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, {
        headers: { authorization: `Bearer ${bob.token}` },
        origin: EVIL,
      });
      const first = await new Promise<string>((resolve, reject) => {
        ws.once('message', (raw) => resolve(String((JSON.parse(raw.toString()) as { type: unknown }).type)));
        ws.once('error', reject);
      });
      ws.close();
      expect(first).toBe('ready');
    } finally {
      await open.close();
    }
  });
});
