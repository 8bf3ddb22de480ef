// Losing Redis mid-test (a private redis-server): local delivery and storage go on, readiness says degraded,
// and fan-out across instances comes back with Redis.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../../src/events/domain-events.js';
import { buildTestApp, sharedBackends } from '../helpers/app.js';
import { createGroup, createUser, sendMessage } from '../helpers/factories.js';
import { closeAllSockets, connectSocket, emitWithAck, nextEvent } from '../helpers/sockets.js';

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

async function readiness(app: FastifyInstance): Promise<{ statusCode: number; status: string }> {
  const res = await app.inject({ method: 'GET', url: '/health/ready' });
  return { statusCode: res.statusCode, status: (res.json() as { data: { status: string } }).data.status };
}

describe('losing Redis (needs TEST_DATABASE_URL, TEST_REDIS_URL and a redis-server binary)', () => {
  let redis: ChildProcess;
  let port: number;
  let one: FastifyInstance;
  let two: FastifyInstance;

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    const shared = {
      ...(await sharedBackends()),
      redisUrl: `redis://127.0.0.1:${port}`,
      redisKeyPrefix: `tma-test:${randomBytes(6).toString('hex')}:`,
    };
    one = await buildTestApp({}, shared);
    two = await buildTestApp({}, shared);
  });
  afterAll(async () => {
    closeAllSockets();
    await Promise.all([one?.close(), two?.close()]);
    if (redis) await stopRedis(redis);
  });

  it('keeps storing and delivering locally, reports degraded, and fans out again once Redis is back', {
    timeout: 90_000,
  }, async () => {
    const alice = await createUser(one);
    const bob = await createUser(one);
    const frank = await createUser(one);
    const conversationId = (await createGroup(one, alice, [bob, frank])).id;
    const sender = await connectSocket(one, alice.token);
    const local = await connectSocket(one, bob.token);
    const remote = await connectSocket(two, bob.token);
    const dave = await createUser(one);
    const daveSocket = await connectSocket(one, dave.token);

    const before = nextEvent<MessageView>(remote, 'new_message');
    await sendMessage(one, alice, conversationId, 'with redis');
    expect((await before).content).toBe('with redis');
    expect(await readiness(one)).toEqual({ statusCode: 200, status: 'ok' });

    await stopRedis(redis);
    await expect.poll(async () => (await readiness(one)).status, { timeout: 10_000 }).toBe('degraded');
    expect((await readiness(one)).statusCode).toBe(503);

    const localArrival = nextEvent<MessageView>(local, 'new_message', (m) => m.content === 'without redis');
    const ack = await emitWithAck<{ message: MessageView; created: boolean }>(sender, 'send_message', {
      conversation_id: conversationId,
      content: 'without redis',
    });
    expect(ack).toMatchObject({ ok: true, data: { created: true } });
    expect((await localArrival).id).toBe(ack.data?.message.id);
    // REST is slower without Redis (the auth and rate-limit stores wait for their timeouts first).
    const rest = nextEvent<MessageView>(
      local,
      'new_message',
      (m) => m.content === 'rest without redis',
      30_000,
    );
    const stored = await sendMessage(one, alice, conversationId, 'rest without redis');
    expect((await rest).id).toBe(stored.id);
    const typing = nextEvent(local, 'user_typing');
    await emitWithAck(local, 'join_conversation', { conversation_id: conversationId });
    await emitWithAck(sender, 'typing_start', { conversation_id: conversationId });
    expect(await typing).toMatchObject({ user_id: alice.user.id, typing: true });
    // Connected while Redis is away: presence is recorded once Redis is back.
    await connectSocket(one, frank.token);
    // Room moves and session ends still apply to this instance's own sockets.
    const ended = nextEvent(daveSocket, 'disconnect');
    one.tma.bus.publish('session.revoked', { session_id: dave.sessionId, user_id: dave.user.id });
    await ended;
    expect(daveSocket.connected).toBe(false);

    redis = await startRedis(port);
    await expect.poll(async () => (await readiness(one)).status, { timeout: 10_000 }).toBe('ok');
    await expect
      .poll(async () => {
        const ack = await emitWithAck<Array<{ online: boolean }>>(sender, 'presence', {
          user_ids: [frank.user.id],
        });
        return ack.data?.[0]?.online;
      })
      .toBe(true);
    // The adapter resubscribes on its own; retry until a message crosses again.
    let crossed = false;
    for (let attempt = 0; attempt < 20 && !crossed; attempt++) {
      const content = `back ${attempt}`;
      const arrival = nextEvent<MessageView>(remote, 'new_message', (m) => m.content === content, 500);
      await emitWithAck(sender, 'send_message', { conversation_id: conversationId, content });
      crossed = await arrival.then(
        () => true,
        () => false,
      );
    }
    expect(crossed).toBe(true);
  });
});
