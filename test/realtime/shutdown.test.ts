// Graceful shutdown: in-flight socket sends are stored and acknowledged, then sockets are told to reconnect.
import { describe, expect, it } from 'vitest';
import { buildTestApp } from '../helpers/app.js';
import { createGroup, createUser } from '../helpers/factories.js';
import {
  type AckResult,
  closeAllSockets,
  connectSocket,
  connectWs,
  emitWithAck,
  nextEvent,
} from '../helpers/sockets.js';

describe('graceful shutdown', () => {
  it('stores in-flight sends, announces the restart and closes the transport so clients reconnect', async () => {
    const app = await buildTestApp();
    const alice = await createUser(app);
    const bob = await createUser(app);
    const conversationId = (await createGroup(app, alice, [bob])).id;
    const socket = await connectSocket(app, alice.token);
    const { ws, next } = await connectWs(app, { token: bob.token });
    await next('ready');
    const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

    const announced = nextEvent(socket, 'server_shutdown');
    const reason = nextEvent<string>(socket, 'disconnect', () => true, 10_000);
    const sends = Array.from({ length: 5 }, (_, i) =>
      emitWithAck<{ created: boolean }>(socket, 'send_message', {
        conversation_id: conversationId,
        content: `m${i}`,
      }),
    );
    // Packets are handled in order: once this answers, every send above has started on the server.
    await emitWithAck(socket, 'presence', { user_ids: [alice.user.id] });
    const closing = app.close();

    const acks: AckResult<{ created: boolean }>[] = await Promise.all(sends);
    expect(acks.map((a) => a.ok)).toEqual([true, true, true, true, true]);
    expect(await announced).toEqual({ reconnect: true });
    // A transport close (not "io server disconnect") is what makes socket.io-client reconnect by itself.
    expect(await reason).toBe('transport close');
    expect(await wsClosed).toBe(1012);
    await closing;
  });

  it('refuses new handshakes while draining with server_shutting_down', async () => {
    const app = await buildTestApp();
    const alice = await createUser(app);
    await connectSocket(app, alice.token);
    const draining = app.realtime.drain();
    const refused = await connectSocket(app, alice.token).catch(
      (err: Error & { data?: { code: string } }) => err,
    );
    expect((refused as { data?: { code: string } }).data?.code).toBe('server_shutting_down');
    await draining;
    await app.close();
  });
});

describe('GET /metrics', () => {
  it('reports sockets per namespace, events emitted, client event time and send-to-emit latency', async () => {
    const app = await buildTestApp();
    try {
      const alice = await createUser(app);
      const bob = await createUser(app);
      const conversationId = (await createGroup(app, alice, [bob])).id;
      const socket = await connectSocket(app, alice.token);
      await connectSocket(app, bob.token, '/calls');
      const arrived = nextEvent(socket, 'new_message');
      await emitWithAck(socket, 'send_message', { conversation_id: conversationId, content: 'measured' });
      await arrived;
      await emitWithAck(socket, 'no_such_event', {});
      await emitWithAck(socket, 'typing_start', { conversation_id: 'not-a-uuid' });
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('tma_realtime_connected_sockets{namespace="/messaging"} 1');
      expect(res.body).toContain('tma_realtime_connected_sockets{namespace="/calls"} 1');
      expect(res.body).toMatch(/tma_realtime_events_emitted_total\{event="new_message"\} [1-9]/);
      expect(res.body).toMatch(/tma_realtime_send_to_emit_seconds_count [1-9]/);
      expect(res.body).toMatch(
        /tma_realtime_client_event_seconds_count\{event="send_message",outcome="ok"\} 1\n/,
      );
      expect(res.body).toMatch(
        /tma_realtime_client_event_seconds_count\{event="unknown",outcome="error"\} 1\n/,
      );
      expect(res.body).toMatch(
        /tma_realtime_client_event_seconds_count\{event="typing_start",outcome="error"\} 1\n/,
      );
    } finally {
      closeAllSockets();
      await app.close();
    }
  });
});
