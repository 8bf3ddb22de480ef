// The realtime server: Socket.IO namespaces on the app's HTTP server, Redis fan-out, presence, /ws, shutdown.
import { createAdapter } from '@socket.io/redis-adapter';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { Server } from 'socket.io';
import type { AppContext } from '../context.js';
import { MemoryPresence, RedisPresence } from '../platform/presence.js';
import { connectRedis } from '../platform/redis.js';
import { createEventLimiter } from '../platform/socket-rate-limits.js';
import { Fanout, type Io } from './fanout.js';
import { authenticateToken, HandshakeError, handshakeToken } from './handshake.js';
import { ClientEvents, type MessagingSocket, registerMessagingHandlers } from './messaging-handlers.js';
import { RealtimeMetrics } from './metrics.js';
import { PresenceService } from './presence.js';
import { presenceRoutes } from './presence.routes.js';
import { NAMESPACES, rooms } from './protocol.js';
import { RealtimeRepository } from './realtime.repository.js';
import { subscribeDomainEvents } from './subscriber.js';
import { TypingTracker } from './typing.js';
import { errorCode, WsGateway } from './ws-gateway.js';

type EngineConnection = { on(event: 'close', fn: (reason: string, description: unknown) => void): void };

export interface RealtimeServer {
  io: Io;
  fanout: Fanout;
  metrics: RealtimeMetrics;
  presence: PresenceService;
  /** Stop accepting, finish in-flight sends, tell every socket to reconnect elsewhere. */
  drain(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    realtime: RealtimeServer;
  }
}

/** Any client event, per socket; send_message has its own, stricter per-user limit. */
const EVENTS_PER_SOCKET_PER_SECOND = 30;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Redis pub/sub pair for the adapter; a failed publish (Redis down) must never crash the process. */
function adapterClients(ctx: AppContext, url: string): { pub: Redis; sub: Redis } {
  const pub = connectRedis(url, ctx.logger, 'io-pub');
  const sub = connectRedis(url, ctx.logger, 'io-sub');
  // The adapter fires these without awaiting them; a rejection must not become an unhandled one.
  const guard = (
    client: Redis,
    method: 'publish' | 'subscribe' | 'psubscribe' | 'unsubscribe' | 'punsubscribe',
  ) => {
    const target = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const original = target[method]!.bind(client);
    target[method] = (...args: unknown[]) => original(...args).catch(() => 0);
  };
  guard(pub, 'publish');
  for (const method of ['subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe'] as const)
    guard(sub, method);
  return { pub, sub };
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}

/** Creates the realtime server on `app.server`; shutdown is wired to the app's preClose/onClose. */
export function createRealtime(app: FastifyInstance, ctx: AppContext): RealtimeServer {
  const { config, logger } = ctx;
  const settings = config.realtime;
  const io: Io = new Server(app.server, {
    path: '/socket.io',
    serveClient: false,
    transports: settings.allowPolling ? ['websocket', 'polling'] : ['websocket'],
    maxHttpBufferSize: settings.maxPayloadBytes,
    pingInterval: settings.pingIntervalMs,
    pingTimeout: settings.pingTimeoutMs,
    // Other upgrade paths (/ws) are handled next to Socket.IO's.
    destroyUpgrade: false,
    cors: {
      origin: config.allowedOrigins.includes('*') ? true : config.allowedOrigins,
      credentials: true,
    },
  });
  let adapterPair: { pub: Redis; sub: Redis } | undefined;
  if (config.redisUrl) {
    adapterPair = adapterClients(ctx, config.redisUrl);
    io.adapter(createAdapter(adapterPair.pub, adapterPair.sub, { key: `${config.redisKeyPrefix}socket.io` }));
  }

  let gateway: WsGateway | undefined;
  const metrics = new RealtimeMetrics(() => {
    const counts: Record<string, number> = {};
    for (const name of NAMESPACES) counts[name] = io.of(name).sockets.size;
    counts['/ws'] = gateway?.size ?? 0;
    return counts;
  });
  // Engine.IO closes a connection on a protocol error ("transport error"); count it beside /ws's.
  io.engine.on('connection', (conn: EngineConnection) =>
    conn.on('close', (reason, description) => {
      if (reason === 'transport error')
        metrics.protocolErrors.inc({ transport: '/socket.io', code: errorCode(description) });
    }),
  );
  const fanout = new Fanout(io, metrics, adapterPair !== undefined);
  const repository = new RealtimeRepository(ctx.db);
  const store = ctx.redis
    ? new RedisPresence(ctx.redis, config.redisKeyPrefix, settings.presenceTtlMs)
    : new MemoryPresence();
  const presence = new PresenceService(store, repository, fanout, logger);
  const typing = new TypingTracker(fanout, settings.typingExpireMs, settings.typingThrottleMs);
  const eventLimiter = createEventLimiter({
    name: 'socket_events',
    points: EVENTS_PER_SOCKET_PER_SECOND,
    durationSeconds: 1,
    redis: undefined,
    keyPrefix: config.redisKeyPrefix,
  });
  const sendLimiter = createEventLimiter({
    name: 'send_message',
    points: settings.messagesPerSecond,
    durationSeconds: 1,
    redis: ctx.redis,
    keyPrefix: config.redisKeyPrefix,
  });

  const inflight = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    inflight.add(work);
    const done = () => inflight.delete(work);
    work.then(done, done);
    return work;
  };
  const clientEvents = new ClientEvents({
    services: ctx.services,
    repository,
    typing,
    presence,
    sendLimiter,
    eventLimiter,
    metrics,
    logger,
    track,
  });
  let closing = false;
  const memberships = new WeakMap<object, string[]>();

  for (const name of NAMESPACES) {
    const nsp = io.of(name);
    nsp.use((socket, next) => {
      if (closing) return next(new HandshakeError('server_shutting_down', 'Server is restarting; retry'));
      const token = handshakeToken(socket.handshake.auth, socket.handshake.headers);
      authenticateToken(ctx.authenticator, token)
        .then(async (actor) => {
          socket.data = { userId: actor.userId, role: actor.role, sessionId: actor.sessionId };
          if (name === '/messaging') memberships.set(socket, await repository.membershipIds(actor.userId));
          next();
        })
        .catch((err: unknown) => {
          const refusal =
            err instanceof HandshakeError ? err : new HandshakeError('internal_error', 'Could not connect');
          if (!(err instanceof HandshakeError)) logger.error({ err }, 'socket handshake failed');
          metrics.socketErrors.inc({ code: refusal.data.code });
          next(refusal);
        });
    });
    nsp.on('connection', (socket) => {
      const { userId, sessionId } = socket.data;
      const own = [rooms.user(userId), ...(sessionId ? [rooms.session(sessionId)] : [])];
      if (name !== '/messaging') {
        void socket.join(own);
        return;
      }
      const conversations = (memberships.get(socket) ?? []).map(rooms.conversation);
      memberships.delete(socket);
      void socket.join([...own, ...conversations]);
      registerMessagingHandlers(socket as MessagingSocket, clientEvents);
      const online = track(presence.connected(userId, socket.id));
      socket.on('disconnect', () => {
        // By now the socket has left its rooms: anyone left in user:{id} is another device here.
        const stillHere = (nsp.adapter.rooms.get(rooms.user(userId))?.size ?? 0) > 0;
        if (!stillHere) typing.stopAll(userId);
        void track(online.then(() => presence.disconnected(userId, socket.id)));
      });
    });
  }

  const unsubscribe = subscribeDomainEvents({
    bus: ctx.bus,
    fanout,
    metrics,
    contactIds: (id) => repository.contactIds(id),
  });
  gateway = new WsGateway(app.server, io, {
    authenticator: () => ctx.authenticator,
    repository,
    presence,
    logger,
    tokenInUrl: config.wsTokenInUrl,
    maxPayloadBytes: settings.maxPayloadBytes,
    heartbeatMs: settings.pingIntervalMs + settings.pingTimeoutMs,
    multiInstance: adapterPair !== undefined,
    events: clientEvents,
    metrics,
    track,
  });
  fanout.addTransport(gateway);

  const localConnections = () => [
    ...[...io.of('/messaging').sockets.values()].map((s) => ({ userId: s.data.userId, connectionId: s.id })),
    ...(gateway?.connections() ?? []),
  ];
  const heartbeat = setInterval(
    () =>
      void presence
        .heartbeat(localConnections())
        .catch((err: unknown) => logger.warn({ err }, 'presence heartbeat failed')),
    Math.min(30_000, Math.floor(settings.presenceTtlMs / 3)),
  );
  heartbeat.unref();
  // Connections made while Redis was away were not recorded there: record them once it is back.
  const restorePresence = () =>
    void presence
      .restore(localConnections())
      .catch((err: unknown) => logger.warn({ err }, 'presence restore failed'));
  ctx.redis?.on('ready', restorePresence);

  const settle = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (inflight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...inflight]), wait(Math.max(1, deadline - Date.now()))]);
    }
  };

  const realtime: RealtimeServer = {
    io,
    fanout,
    metrics,
    presence,
    async drain() {
      if (closing) return;
      closing = true;
      const budget = Math.max(1000, Math.floor(config.shutdownTimeoutMs / 2));
      await settle(budget);
      for (const name of NAMESPACES) io.of(name).local.emit('server_shutdown', { reconnect: true });
      // Closing the transport (not a server-side disconnect) makes clients reconnect by themselves.
      const connections = new Set(
        NAMESPACES.flatMap((n) => [...io.of(n).sockets.values()].map((s) => s.conn)),
      );
      for (const connection of connections) connection.close();
      gateway?.drain();
      const deadline = Date.now() + 2000;
      while (NAMESPACES.some((n) => io.of(n).sockets.size > 0) && Date.now() < deadline) await wait(10);
      await settle(budget);
    },
  };

  app.decorate('realtime', realtime);
  presenceRoutes(app, presence);
  ctx.metrics.include(() => metrics.registry);
  app.addHook('preClose', async () => realtime.drain());
  ctx.onClose(async () => {
    await realtime.drain();
    clearInterval(heartbeat);
    ctx.redis?.off('ready', restorePresence);
    unsubscribe();
    typing.close();
    gateway?.close();
    io.engine.close();
    for (const name of NAMESPACES) await Promise.resolve(io.of(name).adapter.close()).catch(() => undefined);
    if (adapterPair) await Promise.all([quit(adapterPair.pub), quit(adapterPair.sub)]);
  });
  return realtime;
}
