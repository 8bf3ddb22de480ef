// /ws fan-out between instances is published only while another instance exists (needs PostgreSQL and Redis).
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, sharedBackends } from '../helpers/app.js';
import { createGroup, createUser, sendMessage, type TestUser } from '../helpers/factories.js';
import { connectWs } from '../helpers/sockets.js';

const wsShares = (app: FastifyInstance) => {
  const nsp = app.realtime.io.of('/messaging');
  return vi.spyOn(nsp, 'serverSideEmit');
};

describe('/ws fan-out between instances (needs TEST_DATABASE_URL and TEST_REDIS_URL)', () => {
  let one: FastifyInstance;
  let two: FastifyInstance | undefined;
  let alice: TestUser;
  let bob: TestUser;
  let conversationId: string;
  let shared: Awaited<ReturnType<typeof sharedBackends>>;

  beforeAll(async () => {
    shared = await sharedBackends();
    one = await buildTestApp({}, shared);
    [alice, bob] = await Promise.all([createUser(one), createUser(one)]);
    conversationId = (await createGroup(one, alice, [bob])).id;
  });
  afterAll(async () => {
    await Promise.all([one?.close(), two?.close()]);
  });

  it('publishes nothing for /ws while alone, and shares again as soon as a second instance starts', async () => {
    // The census runs every second; wait until it has counted this instance alone.
    await vi.waitFor(
      async () => {
        const spy = wsShares(one);
        await sendMessage(one, alice, conversationId, 'alone?');
        const calls = spy.mock.calls.filter(([event]) => event === 'tma:ws');
        spy.mockRestore();
        expect(calls).toEqual([]);
      },
      { timeout: 5000, interval: 300 },
    );

    two = await buildTestApp({}, shared);
    // The newcomer's hello reaches the first instance before any of its clients can connect.
    await vi.waitFor(
      async () => {
        const spy = wsShares(one);
        await sendMessage(one, alice, conversationId, 'shared?');
        const calls = spy.mock.calls.filter(([event]) => event === 'tma:ws');
        spy.mockRestore();
        expect(calls.length).toBeGreaterThan(0);
      },
      { timeout: 2000, interval: 50 },
    );
    const { ws, next } = await connectWs(two, { token: bob.token });
    await next('ready');
    const sent = await sendMessage(one, alice, conversationId, 'to a /ws client on the other instance');
    let frame = await next('new_message');
    while ((frame.data as { id: string }).id !== sent.id) frame = await next('new_message');
    expect(frame.data).toMatchObject({ seq: sent.seq, content: 'to a /ws client on the other instance' });
    ws.close();
  });
});
