// The realtime server: Socket.IO namespaces and /ws on the app's HTTP server. The pieces live beside it:
// adapter.ts (Redis fan-out), connections.ts (handshakes, sockets, presence upkeep), origin.ts (upgrade
// origins), shutdown.ts (drain and close).
import type { FastifyInstance } from 'fastify';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { Server } from 'socket.io';
import type { AppContext } from '../context.js';
import { MemoryPresence, RedisPresence } from '../platform/presence.js';
import { createEventLimiter } from '../platform/socket-rate-limits.js';
import { attachRedisAdapter, type RedisAdapter } from './adapter.js';
import { attachCalls } from './calls-namespace.js';
import { acceptConnections, keepPresence } from './connections.js';
import { Fanout, type Io } from './fanout.js';
import { ClientEvents } from './messaging-handlers.js';
import { RealtimeMetrics } from './metrics.js';
import { guardEngineOrigins, ORIGIN_REFUSED, originCheck } from './origin.js';
import { PresenceService } from './presence.js';
import { presenceRoutes } from './presence.routes.js';
import { NAMESPACES, rooms } from './protocol.js';
import { RealtimeRepository } from './realtime.repository.js';
import { closeTransports, drainSockets, Lifecycle } from './shutdown.js';
import { subscribeDomainEvents } from './subscriber.js';
import { TypingTracker } from './typing.js';
import { guardEngineRate, upgradeLimit } from './upgrade-limit.js';
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

/** Creates the realtime server on `app.server`; shutdown is wired to the app's preClose/onClose. */
export interface RealtimeOptions {
  /** The per-IP request limiter of the HTTP API: upgrades spend the same budget. */
  ipLimiter?: RateLimiterAbstract;
}

export function createRealtime(
  app: FastifyInstance,
  ctx: AppContext,
  options: RealtimeOptions = {},
): RealtimeServer {
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
  const adapter: RedisAdapter | undefined = config.redisUrl
    ? attachRedisAdapter(io, config.redisUrl, config.redisKeyPrefix, logger)
    : undefined;

  let gateway: WsGateway | undefined;
  const metrics = new RealtimeMetrics(() => {
    const counts: Record<string, number> = {};
    for (const name of NAMESPACES) counts[name] = io.of(name).sockets.size;
    counts['/ws'] = gateway?.size ?? 0;
    return counts;
  });
  const originAllowed = originCheck(config.allowedOrigins);
  guardEngineOrigins(io, originAllowed, () => metrics.socketErrors.inc({ code: ORIGIN_REFUSED.code }));
  const rateLimit = options.ipLimiter ? upgradeLimit(options.ipLimiter, config.trustProxy) : async () => 0;
  guardEngineRate(io, rateLimit, () => metrics.socketErrors.inc({ code: 'rate_limited' }));
  // Engine.IO closes a connection on a protocol error ("transport error"); count it beside /ws's.
  io.engine.on('connection', (conn: EngineConnection) =>
    conn.on('close', (reason, description) => {
      if (reason === 'transport error')
        metrics.protocolErrors.inc({ transport: '/socket.io', code: errorCode(description) });
    }),
  );
  const fanout = new Fanout(io, metrics, adapter !== undefined);
  const repository = new RealtimeRepository(ctx.db);
  const store = ctx.redis
    ? new RedisPresence(ctx.redis, config.redisKeyPrefix, settings.presenceTtlMs)
    : new MemoryPresence();
  const viewing = ctx.services.notifications.viewing;
  const presence = new PresenceService(store, repository, ctx.services.access, fanout, logger, viewing);
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

  const lifecycle = new Lifecycle();
  const clientEvents = new ClientEvents({
    services: ctx.services,
    typing,
    presence,
    viewing,
    sendLimiter,
    eventLimiter,
    metrics,
    logger,
    track: lifecycle.track,
  });
  acceptConnections({
    io,
    authenticator: ctx.authenticator,
    access: ctx.services.access,
    presence,
    typing,
    clientEvents,
    metrics,
    logger,
    lifecycle,
  });
  attachCalls(io, ctx, metrics, lifecycle.track);

  const unsubscribe = subscribeDomainEvents({
    bus: ctx.bus,
    fanout,
    metrics,
    contactIds: (id) => ctx.services.access.contactIds(id),
  });
  // In-app notifications go to every /notifications socket of their user, on every instance.
  const stopNotifications = ctx.bus.subscribe('notification.created', ({ user_id, notification }) => {
    io.of('/notifications').to(rooms.user(user_id)).emit('notification', notification);
  });
  const ws = new WsGateway(app.server, io, {
    authenticator: () => ctx.authenticator,
    access: ctx.services.access,
    presence,
    logger,
    tokenInUrl: config.wsTokenInUrl,
    maxPayloadBytes: settings.maxPayloadBytes,
    heartbeatMs: settings.pingIntervalMs + settings.pingTimeoutMs,
    multiInstance: adapter !== undefined,
    events: clientEvents,
    metrics,
    track: lifecycle.track,
    originAllowed,
    rateLimit,
  });
  gateway = ws;
  fanout.addTransport(ws);

  const stopPresence = keepPresence({
    presence,
    connections: () => [
      ...[...io.of('/messaging').sockets.values()].map((s) => ({
        userId: s.data.userId,
        connectionId: s.id,
      })),
      ...ws.connections(),
    ],
    redis: ctx.redis,
    presenceTtlMs: settings.presenceTtlMs,
    logger,
  });

  const realtime: RealtimeServer = {
    io,
    fanout,
    metrics,
    presence,
    drain: () => drainSockets(lifecycle, io, ws, config.shutdownTimeoutMs),
  };

  app.decorate('realtime', realtime);
  presenceRoutes(app, presence);
  ctx.metrics.include(() => metrics.registry);
  app.addHook('preClose', async () => realtime.drain());
  ctx.onClose(async () => {
    await realtime.drain();
    stopPresence();
    unsubscribe();
    stopNotifications();
    typing.close();
    await closeTransports(io, ws, adapter);
  });
  return realtime;
}
