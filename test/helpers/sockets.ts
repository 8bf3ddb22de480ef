// Real socket.io-client sockets against a listening app: connect with a token, wait for events, emit with ack.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { io as connectClient, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { rooms } from '../../src/realtime/protocol.js';

export type ClientSocket = Socket;

/** Listens on an ephemeral port once per app and returns the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  const existing = app.server.address();
  if (existing && typeof existing === 'object') return `http://127.0.0.1:${existing.port}`;
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address !== 'object') throw new Error('app is not listening');
  return `http://127.0.0.1:${address.port}`;
}

const open: ClientSocket[] = [];

/** Connects and resolves once connected; rejects with the connect_error (its `data.code`). */
export async function connectSocket(
  app: FastifyInstance,
  token: string | undefined,
  namespace = '/messaging',
  options: { reconnection?: boolean } = {},
): Promise<ClientSocket> {
  const base = await listen(app);
  const socket = connectClient(`${base}${namespace}`, {
    transports: ['websocket'],
    auth: token === undefined ? {} : { token },
    reconnection: options.reconnection ?? false,
    forceNew: true,
    timeout: 5000,
  });
  open.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
  return socket;
}

/** The connect_error a refused handshake produces. */
export async function refusal(
  app: FastifyInstance,
  token: string | undefined,
  namespace = '/messaging',
): Promise<{ message: string; code: string | undefined }> {
  try {
    const socket = await connectSocket(app, token, namespace);
    socket.close();
  } catch (err) {
    const e = err as Error & { data?: { code?: string } };
    return { message: e.message, code: e.data?.code };
  }
  throw new Error('the handshake was accepted');
}

export function closeAllSockets(): void {
  for (const socket of open.splice(0)) socket.close();
}

/** Resolves with the next `event` payload (optionally one matching `where`), or rejects after timeoutMs. */
export function nextEvent<T = Record<string, unknown>>(
  socket: ClientSocket,
  event: string,
  where: (payload: T) => boolean = () => true,
  timeoutMs = 3000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, handler);
      reject(new Error(`timed out waiting for ${event}`));
    }, timeoutMs);
    const handler = (payload: T) => {
      if (!where(payload)) return;
      clearTimeout(timer);
      socket.off(event, handler);
      resolve(payload);
    };
    socket.on(event, handler);
  });
}

/** Records every payload of `event` from now on. */
export function collect<T = Record<string, unknown>>(socket: ClientSocket, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (payload: T) => seen.push(payload));
  return seen;
}

/**
 * A barrier on one connection: resolves once the server has answered a request sent on it now. The server
 * writes a connection's packets in order, so everything it emitted to this socket before it read the request
 * has arrived by then. Proves a negative without a silence window: `collect` the event before the action,
 * make sure the server has done whatever could emit it (the action returned, or another socket received its
 * effect), await `barrier(socket)`, then expect nothing was collected.
 */
export async function barrier(socket: ClientSocket): Promise<void> {
  // Leaving a conversation view the socket never joined: answered at once, changes nothing.
  const ack = await emitWithAck(socket, 'leave_conversation', { conversation_id: randomUUID() });
  if (!ack.ok) throw new Error(`the barrier was refused: ${JSON.stringify(ack.error)}`);
}

/**
 * The same across instances: an event `origin` emits now to `userId`'s sockets reaches `socket` (on any
 * instance) after everything `origin` emitted to it before, since the Redis adapter carries one instance's
 * emits in order. Use it after the work on `origin` that could have emitted the unwanted event has finished.
 */
export async function barrierFrom(
  origin: FastifyInstance,
  socket: ClientSocket,
  userId: string,
): Promise<void> {
  const marker = randomUUID();
  const arrived = nextEvent<{ user_id: string }>(socket, 'user_updated', (p) => p.user_id === marker);
  origin.realtime.fanout.emit(rooms.user(userId), 'user_updated', { user_id: marker });
  await arrived;
}

export interface AckResult<T = unknown> {
  ok: boolean;
  data?: T;
  error?: { code: string; message: string; retry_after?: number };
}

export function emitWithAck<T = unknown>(
  socket: ClientSocket,
  event: string,
  ...args: unknown[]
): Promise<AckResult<T>> {
  return socket.timeout(5000).emitWithAck(event, ...args) as Promise<AckResult<T>>;
}

/** A plain WebSocket to /ws; frames are parsed JSON. */
export async function connectWs(
  app: FastifyInstance,
  options: { token?: string; query?: string } = {},
): Promise<{
  ws: WebSocket;
  frames: Array<Record<string, unknown>>;
  next: (type: string) => Promise<Record<string, unknown>>;
}> {
  const base = (await listen(app)).replace('http', 'ws');
  const ws = new WebSocket(`${base}/ws${options.query ?? ''}`, {
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
  });
  const frames: Array<Record<string, unknown>> = [];
  const waiters: Array<{ type: string; resolve: (f: Record<string, unknown>) => void }> = [];
  ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString()) as Record<string, unknown>;
    frames.push(frame);
    const i = waiters.findIndex((w) => w.type === frame.type);
    if (i >= 0) waiters.splice(i, 1)[0]?.resolve(frame);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = (type: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const seen = frames.findIndex((f) => f.type === type);
      if (seen >= 0) {
        resolve(frames.splice(seen, 1)[0] as Record<string, unknown>);
        return;
      }
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${type}`)), 3000);
      waiters.push({
        type,
        resolve: (f) => {
          clearTimeout(timer);
          frames.splice(frames.indexOf(f), 1);
          resolve(f);
        },
      });
    });
  return { ws, frames, next };
}
