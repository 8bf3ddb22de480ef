// /ws: a plain WebSocket gateway (JSON envelope) that carries the same server events as Socket.IO.
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Authenticator } from '../identity/actor.js';
import type { AccessService } from '../modules/access/access.service.js';
import type { Io, RoomTransport } from './fanout.js';
import { authenticateToken, HandshakeError } from './handshake.js';
import type { ClientEvents, EventScope } from './messaging-handlers.js';
import type { RealtimeMetrics } from './metrics.js';
import { ORIGIN_REFUSED, type OriginCheck, refuseUpgrade } from './origin.js';
import type { PresenceService } from './presence.js';
import { rooms } from './protocol.js';
import { refuseUpgradeRateLimited, type UpgradeLimit } from './upgrade-limit.js';

export interface WsGatewayDeps {
  authenticator: () => Authenticator;
  /** Memberships: the conversation rooms a connection joins. */
  access: Pick<AccessService, 'conversationIds'>;
  presence: PresenceService;
  logger: Logger;
  tokenInUrl: boolean;
  maxPayloadBytes: number;
  heartbeatMs: number;
  /** Several instances share a Redis adapter: forward fan-out to the others' /ws clients. */
  multiInstance: boolean;
  /** The same client events as Socket.IO. */
  events: ClientEvents;
  metrics: RealtimeMetrics;
  track<T>(work: Promise<T>): Promise<T>;
  /** ALLOWED_ORIGINS, checked before the WebSocket opens (403 otherwise). */
  originAllowed: OriginCheck;
  /** The per-IP request budget (0: go ahead; else seconds to wait). */
  rateLimit: UpgradeLimit;
}

interface WsClient {
  id: string;
  ws: WebSocket;
  userId: string;
  scope: EventScope;
  rooms: Set<string>;
  alive: boolean;
  online: Promise<void>;
}

type RemoteOp =
  | { op: 'emit'; to: string[]; event: string; payload: unknown; except: string[] }
  | { op: 'join' | 'leave'; from: string[]; to: string[] }
  | { op: 'disconnect'; from: string[]; code: string };

const REMOTE_EVENT = 'tma:ws';
/** Sent by an instance when it starts, so the others start sharing with it before it accepts clients. */
const HELLO_EVENT = 'tma:ws-hello';
/** How often an instance counts the instances on the adapter (a Redis PUBSUB NUMSUB). */
const PEER_CENSUS_MS = 1000;
const AUTH_TIMEOUT_MS = 10_000;
let counter = 0;

export class WsGateway implements RoomTransport {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<WsClient>();
  private readonly byRoom = new Map<string, Set<WsClient>>();
  private readonly pinger: NodeJS.Timeout;
  private readonly census: NodeJS.Timeout | undefined;
  /** Whether another instance may be running: while this one is alone, nothing is published for /ws. */
  private peers = true;
  private lastHello = 0;
  private readonly remote: boolean;
  private closing = false;

  constructor(
    server: HttpServer,
    private readonly io: Io,
    private readonly deps: WsGatewayDeps,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxPayloadBytes });
    // A failed handshake is answered by ws itself (400); it must never become an unhandled 'error'.
    this.wss.on('error', (err) => deps.logger.warn({ err }, '/ws server error'));
    this.wss.on('wsClientError', (err, socket) => {
      deps.metrics.protocolErrors.inc({ transport: '/ws', code: errorCode(err) });
      socket.destroy();
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === '/ws') this.upgrade(req, socket, head, url);
      else if (!url.pathname.startsWith('/socket.io/')) socket.destroy();
    });
    // Another instance's fan-out for the /ws clients connected here.
    this.remote = deps.multiInstance;
    (io.of('/messaging').on as (ev: string, fn: (op: RemoteOp) => void) => void)(REMOTE_EVENT, (op) =>
      this.apply(op),
    );
    if (this.remote) {
      const nsp = io.of('/messaging');
      (nsp.on as (ev: string, fn: () => void) => void)(HELLO_EVENT, () => {
        this.lastHello = performance.now();
        this.peers = true;
      });
      nsp.serverSideEmit(HELLO_EVENT as never);
      this.census = setInterval(() => void this.countPeers(), PEER_CENSUS_MS);
      this.census.unref();
    }
    this.pinger = setInterval(() => {
      for (const client of this.clients) {
        if (!client.alive) client.ws.terminate();
        client.alive = false;
        client.ws.ping();
      }
    }, deps.heartbeatMs);
    this.pinger.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  connections(): Array<{ userId: string; connectionId: string }> {
    return [...this.clients].map((c) => ({ userId: c.userId, connectionId: c.id }));
  }

  emit(to: readonly string[], event: string, payload: unknown, except: readonly string[]): void {
    this.share({ op: 'emit', to: [...to], event, payload, except: [...except] });
  }
  join(from: readonly string[], to: readonly string[]): void {
    this.share({ op: 'join', from: [...from], to: [...to] });
  }
  leave(from: readonly string[], to: readonly string[]): void {
    this.share({ op: 'leave', from: [...from], to: [...to] });
  }
  disconnect(from: readonly string[], code: string): void {
    this.share({ op: 'disconnect', from: [...from], code });
  }

  /** Shutdown: tell clients to reconnect (close code 1012, service restart). */
  drain(): void {
    this.closing = true;
    const notice = JSON.stringify({ type: 'server_shutdown', data: { reconnect: true } });
    for (const client of this.clients) {
      client.ws.send(notice);
      client.ws.close(1012, 'server restarting');
    }
  }

  close(): void {
    clearInterval(this.pinger);
    clearInterval(this.census);
    for (const client of this.clients) client.ws.terminate();
    this.wss.close();
  }

  private share(op: RemoteOp): void {
    this.apply(op);
    if (this.remote && this.peers)
      this.io.of('/messaging').serverSideEmit(REMOTE_EVENT as never, op as never);
  }

  /** Counts the instances on the adapter; a hello that arrives meanwhile wins over a stale count. */
  private async countPeers(): Promise<void> {
    const started = performance.now();
    let alone = false;
    try {
      alone = (await this.io.of('/messaging').adapter.serverCount()) <= 1;
    } catch {
      alone = false;
    }
    if (this.lastHello < started) this.peers = !alone;
  }

  private inRooms(names: readonly string[]): Set<WsClient> {
    const found = new Set<WsClient>();
    for (const name of names) for (const c of this.byRoom.get(name) ?? []) found.add(c);
    return found;
  }

  private apply(op: RemoteOp): void {
    if (this.clients.size === 0) return;
    if (op.op === 'emit') {
      const targets = this.inRooms(op.to);
      for (const c of this.inRooms(op.except)) targets.delete(c);
      if (targets.size === 0) return;
      // Encoded once: a Buffer sent as text is not converted again for every client.
      const frame = Buffer.from(JSON.stringify({ type: op.event, data: op.payload }));
      for (const c of targets) c.ws.send(frame, { binary: false });
    } else if (op.op === 'disconnect') {
      const frame = JSON.stringify({ type: 'session_ended', data: { code: op.code } });
      for (const c of this.inRooms(op.from)) {
        c.ws.send(frame);
        c.ws.close(4401, op.code);
      }
    } else {
      for (const c of this.inRooms(op.from)) {
        for (const room of op.to) (op.op === 'join' ? this.add : this.remove).call(this, c, room);
      }
    }
  }

  private add(client: WsClient, room: string): void {
    client.rooms.add(room);
    let set = this.byRoom.get(room);
    if (!set) {
      set = new Set();
      this.byRoom.set(room, set);
    }
    set.add(client);
  }

  private remove(client: WsClient, room: string): void {
    client.rooms.delete(room);
    const set = this.byRoom.get(room);
    set?.delete(client);
    if (set?.size === 0) this.byRoom.delete(room);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    if (this.closing) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!this.deps.originAllowed(req)) {
      this.deps.metrics.socketErrors.inc({ code: ORIGIN_REFUSED.code });
      refuseUpgrade(socket);
      return;
    }
    socket.on('error', () => socket.destroy());
    void this.deps.rateLimit(req).then((wait) => {
      if (wait > 0) {
        this.deps.metrics.socketErrors.inc({ code: 'rate_limited' });
        refuseUpgradeRateLimited(socket, wait);
      } else if (!socket.destroyed) this.accept(req, socket, head, url);
    });
  }

  private accept(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    // A reset before or during the handshake (ECONNRESET) is the client's business, not the process's.
    socket.on('error', () => socket.destroy());
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // Protocol errors (oversized frame, invalid UTF-8, reserved opcode or bit, unmasked frame): ws has already
      // sent the close frame (1009, 1007 or 1002); without a listener the 'error' event would end the process.
      ws.on('error', (err) =>
        this.deps.metrics.protocolErrors.inc({ transport: '/ws', code: errorCode(err) }),
      );
      const header = req.headers.authorization;
      const fromHeader =
        typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header.trim())?.[1] : undefined;
      const fromUrl = this.deps.tokenInUrl ? (url.searchParams.get('token') ?? undefined) : undefined;
      const token = fromHeader ?? fromUrl;
      if (token) {
        void this.authenticate(ws, token);
        return;
      }
      // Otherwise the first message must be {"type": "auth", "token": "..."}.
      const timer = setTimeout(
        () => this.refuse(ws, 'unauthenticated', 'Send an auth message first'),
        AUTH_TIMEOUT_MS,
      );
      ws.once('message', (raw) => {
        clearTimeout(timer);
        const msg = parse(raw.toString());
        if (msg?.type !== 'auth' || typeof msg.token !== 'string') {
          this.refuse(ws, 'unauthenticated', 'Send an auth message first');
          return;
        }
        void this.authenticate(ws, msg.token);
      });
    });
  }

  private refuse(ws: WebSocket, code: string, message: string): void {
    ws.send(JSON.stringify({ type: 'error', error: { code, message } }));
    ws.close(4401, code);
  }

  private async authenticate(ws: WebSocket, token: string): Promise<void> {
    try {
      const actor = await authenticateToken(this.deps.authenticator(), token);
      const conversations = await this.deps.access.conversationIds(actor.userId);
      if (ws.readyState !== ws.OPEN) return;
      const id = `ws-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
      const online = this.deps.track(this.deps.presence.connected(actor.userId, id));
      const client = {
        id,
        ws,
        userId: actor.userId,
        rooms: new Set<string>(),
        alive: true,
        online,
      } as WsClient;
      client.scope = {
        actor,
        connectionId: id,
        inRoom: (room) => client.rooms.has(room),
        join: (names) => {
          for (const room of names) this.add(client, room);
        },
        leave: (room) => this.remove(client, room),
      };
      this.clients.add(client);
      const own = [rooms.user(actor.userId), ...(actor.sessionId ? [rooms.session(actor.sessionId)] : [])];
      for (const room of [...own, ...conversations.map(rooms.conversation)]) this.add(client, room);
      ws.on('pong', () => {
        client.alive = true;
      });
      ws.on('message', (raw) => void this.onMessage(client, raw.toString()));
      ws.on('close', () => {
        this.clients.delete(client);
        for (const room of [...client.rooms]) this.remove(client, room);
        void this.deps.track(online.then(() => this.deps.presence.disconnected(client.userId, id)));
      });
      ws.send(JSON.stringify({ type: 'ready', data: { user_id: actor.userId } }));
    } catch (err) {
      if (err instanceof HandshakeError) this.refuse(ws, err.data.code, err.message);
      else {
        this.deps.logger.error({ err }, '/ws authentication failed');
        this.refuse(ws, 'internal_error', 'Could not connect');
      }
    }
  }

  private async onMessage(client: WsClient, raw: string): Promise<void> {
    const msg = parse(raw);
    const id = typeof msg?.id === 'string' || typeof msg?.id === 'number' ? msg.id : null;
    if (!msg || typeof msg.type !== 'string') {
      const error = { code: 'validation_error', message: 'Messages are JSON objects with a type' };
      client.ws.send(JSON.stringify({ type: 'ack', id, ok: false, error }));
      return;
    }
    if (msg.type === 'ping') {
      client.ws.send(JSON.stringify({ type: 'pong', id }));
      return;
    }
    const ack = await this.deps.events.dispatch(client.scope, msg.type, msg.data);
    if (client.ws.readyState === client.ws.OPEN) client.ws.send(JSON.stringify({ type: 'ack', id, ...ack }));
  }
}

/** ws tags its errors with a stable code (WS_ERR_INVALID_UTF8, ...); anything else is a socket error. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code.toLowerCase() : 'socket_error';
}

function parse(raw: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
