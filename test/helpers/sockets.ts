// Real socket.io-client sockets against a listening app: connect with a token, wait for events, emit with ack.
import type { FastifyInstance } from 'fastify';
import { io as connectClient, type Socket } from 'socket.io-client';
import WebSocket from 'ws';

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

/** Proves a negative: true when no `event` arrived within windowMs. */
export async function noEvent(socket: ClientSocket, event: string, windowMs = 300): Promise<boolean> {
  let got = false;
  const handler = () => {
    got = true;
  };
  socket.on(event, handler);
  await new Promise((r) => setTimeout(r, windowMs));
  socket.off(event, handler);
  return !got;
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
