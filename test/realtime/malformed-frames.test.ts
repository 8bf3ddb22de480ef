// Malformed WebSocket frames, before and after authentication, on /ws and /socket.io/: the connection is closed
// with a protocol close code, the error is counted, and the process and every other client carry on.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../helpers/app.js';
import { createGroup, createUser, sendMessage, type TestUser } from '../helpers/factories.js';
import { closeAllSockets, connectSocket, connectWs, listen, nextEvent } from '../helpers/sockets.js';

let app: FastifyInstance;
let alice: TestUser;
let bob: TestUser;
let port: number;

beforeAll(async () => {
  app = await buildTestApp();
  [alice, bob] = await Promise.all([createUser(app), createUser(app)]);
  port = Number(new URL(await listen(app)).port);
});
afterAll(async () => {
  closeAllSockets();
  await app.close();
});

/** Opens a raw TCP connection and completes a WebSocket upgrade on `path`. */
async function rawUpgrade(path: string, headers: Record<string, string> = {}): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  let head = '';
  while (!head.includes('\r\n\r\n')) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    head += chunk.toString('latin1');
  }
  expect(head.startsWith('HTTP/1.1 101')).toBe(true);
  return socket;
}

/** A client frame: FIN + opcode, masked unless told otherwise, with an optional announced length. */
function frame(
  opcode: number,
  payload: Buffer,
  options: { mask?: boolean; announce?: number; rsv?: number } = {},
) {
  const mask = options.mask ?? true;
  const length = options.announce ?? payload.length;
  const header: number[] = [0x80 | (options.rsv ?? 0) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (length < 126) header.push(maskBit | length);
  else if (length < 65_536) header.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    header.push(maskBit | 127);
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    header.push(...big);
  }
  if (!mask) return Buffer.concat([Buffer.from(header), payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (key[i % 4] as number)));
  return Buffer.concat([Buffer.from(header), key, masked]);
}

/** Waits for the server's close frame (its status code) or the end of the connection. */
async function closeCode(socket: Socket): Promise<number | null> {
  let buffer = Buffer.alloc(0);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 5000);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      // Skip any text frames the server sent first; find the close frame (opcode 8).
      let offset = 0;
      while (offset + 2 <= buffer.length) {
        const opcode = (buffer[offset] as number) & 0x0f;
        let length = (buffer[offset + 1] as number) & 0x7f;
        let start = offset + 2;
        if (length === 126) {
          length = buffer.readUInt16BE(offset + 2);
          start += 2;
        }
        if (start + length > buffer.length) return;
        if (opcode === 8) {
          clearTimeout(timer);
          resolve(length >= 2 ? buffer.readUInt16BE(start) : null);
          return;
        }
        offset = start + length;
      }
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(null);
    });
  });
}

const MALFORMED: Array<{ name: string; bytes: () => Buffer; code: number }> = [
  // Announces 2 MiB: over the 1 MiB cap before a byte of it arrives.
  {
    name: 'a frame over the payload cap',
    bytes: () => frame(0x1, Buffer.alloc(16), { announce: 2 * 1024 * 1024 }),
    code: 1009,
  },
  {
    name: 'invalid UTF-8 in a text frame',
    bytes: () => frame(0x1, Buffer.from([0xc3, 0x28, 0xff])),
    code: 1007,
  },
  { name: 'a reserved opcode', bytes: () => frame(0x3, Buffer.from('x')), code: 1002 },
  {
    name: 'an unmasked client frame',
    bytes: () => frame(0x1, Buffer.from('{}'), { mask: false }),
    code: 1002,
  },
  { name: 'a reserved bit set', bytes: () => frame(0x1, Buffer.from('{}'), { rsv: 0x20 }), code: 1002 },
];

async function stillServing(conversationId: string, listener: Awaited<ReturnType<typeof connectSocket>>) {
  const health = await fetch(`http://127.0.0.1:${port}/health`);
  expect(health.status).toBe(200);
  const arrived = nextEvent(listener, 'new_message');
  const sent = await sendMessage(app, alice, conversationId, 'still here');
  expect((await arrived).id).toBe(sent.id);
}

describe('malformed WebSocket frames', () => {
  for (const { name, bytes, code } of MALFORMED) {
    it(`/ws before authentication: ${name} closes that connection (${code}); the process lives`, async () => {
      const conversationId = (await createGroup(app, alice, [bob])).id;
      const listener = await connectSocket(app, bob.token);
      const before = await app.inject({ method: 'GET', url: '/metrics' });
      const socket = await rawUpgrade('/ws');
      const closed = closeCode(socket);
      socket.write(bytes());
      expect(await closed).toBe(code);
      socket.destroy();
      await stillServing(conversationId, listener);
      const after = await app.inject({ method: 'GET', url: '/metrics' });
      expect(protocolErrors(after.body, '/ws')).toBeGreaterThan(protocolErrors(before.body, '/ws'));
    });

    it(`/ws after authentication: ${name} closes that connection (${code}); the process lives`, async () => {
      const conversationId = (await createGroup(app, alice, [bob])).id;
      const listener = await connectSocket(app, bob.token);
      const socket = await rawUpgrade('/ws', { Authorization: `Bearer ${alice.token}` });
      const closed = closeCode(socket);
      socket.write(bytes());
      expect(await closed).toBe(code);
      socket.destroy();
      await stillServing(conversationId, listener);
    });

    it(`/socket.io/: ${name} closes that connection; the process lives`, async () => {
      const conversationId = (await createGroup(app, alice, [bob])).id;
      const listener = await connectSocket(app, bob.token);
      const socket = await rawUpgrade('/socket.io/?EIO=4&transport=websocket');
      const closed = closeCode(socket);
      socket.write(bytes());
      expect(await closed).toBe(code);
      socket.destroy();
      await stillServing(conversationId, listener);
    });
  }

  it('a /ws client that sent garbage is gone while its neighbours on /ws keep receiving', async () => {
    const conversationId = (await createGroup(app, alice, [bob])).id;
    const listener = await connectSocket(app, bob.token);
    const neighbour = await connectWs(app, { token: bob.token });
    await neighbour.next('ready');
    const socket = await rawUpgrade('/ws', { Authorization: `Bearer ${bob.token}` });
    const closed = closeCode(socket);
    socket.write(frame(0x1, Buffer.from([0xff, 0xfe])));
    expect(await closed).toBe(1007);
    socket.destroy();
    await stillServing(conversationId, listener);
    expect((await neighbour.next('new_message')).data).toMatchObject({ conversation_id: conversationId });
    neighbour.ws.close();
  });
});

function protocolErrors(metrics: string, transport: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (line.startsWith('tma_realtime_protocol_errors_total{') && line.includes(`transport="${transport}"`))
      total += Number(line.split(' ').pop());
  }
  return total;
}
