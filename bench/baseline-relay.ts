// The transport ceiling: a bare Socket.IO relay (no auth, no storage) that echoes send_message to the room.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

interface RelayAuth {
  user_id?: unknown;
  rooms?: unknown;
}

/** Starts the relay on `port` (0 = any) and resolves with the port it listens on. */
export async function startRelay(
  port = 0,
  host = '127.0.0.1',
): Promise<{ port: number; close(): Promise<void> }> {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], serveClient: false });
  const nsp = io.of('/messaging');
  const seqs = new Map<string, number>();
  nsp.on('connection', (socket) => {
    const auth = socket.handshake.auth as RelayAuth;
    const userId = typeof auth.user_id === 'string' ? auth.user_id : socket.id;
    const rooms = Array.isArray(auth.rooms)
      ? auth.rooms.filter((r): r is string => typeof r === 'string')
      : [];
    void socket.join(rooms.map((r) => `conversation:${r}`));
    socket.on(
      'send_message',
      (payload: { conversation_id?: string; content?: string; client_id?: string }, ack) => {
        const conversationId = String(payload?.conversation_id ?? '');
        const seq = (seqs.get(conversationId) ?? 0) + 1;
        seqs.set(conversationId, seq);
        // The same shape of payload as TMA's new_message, so serialisation costs are comparable.
        const message = {
          id: payload?.client_id ?? '',
          conversation_id: conversationId,
          seq,
          sender_id: userId,
          client_id: payload?.client_id ?? null,
          type: 'text',
          content: payload?.content ?? '',
          created_at: new Date().toISOString(),
        };
        nsp.to(`conversation:${conversationId}`).emit('new_message', message);
        if (typeof ack === 'function') ack({ ok: true, data: message });
      },
    );
  });
  await new Promise<void>((resolve) => http.listen(port, host, resolve));
  const address = http.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise<void>((resolve) => io.close(() => resolve())),
  };
}

// Run as its own process: `tsx bench/baseline-relay.ts [port]` prints one JSON line when ready.
if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const relay = await startRelay(Number(process.argv[2] ?? 0));
  console.log(JSON.stringify({ relay: `http://127.0.0.1:${relay.port}` }));
  process.on('SIGTERM', () => void relay.close().then(() => process.exit(0)));
}
