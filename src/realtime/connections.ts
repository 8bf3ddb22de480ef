// Socket.IO connections: the handshake middleware of every namespace (and the refusal of `/`), what a connected
// socket joins and listens to, and the presence heartbeat of this instance's connections.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Authenticator } from '../identity/actor.js';
import type { AccessService } from '../modules/access/access.service.js';
import type { Io } from './fanout.js';
import { authenticateToken, HandshakeError, handshakeToken } from './handshake.js';
import { type ClientEvents, type MessagingSocket, registerMessagingHandlers } from './messaging-handlers.js';
import type { RealtimeMetrics } from './metrics.js';
import type { PresenceService } from './presence.js';
import { NAMESPACES, rooms } from './protocol.js';
import type { Lifecycle } from './shutdown.js';
import type { TypingTracker } from './typing.js';

export interface ConnectionDeps {
  io: Io;
  authenticator: Authenticator;
  /** Memberships: the conversation rooms a /messaging socket joins. */
  access: Pick<AccessService, 'conversationIds'>;
  presence: PresenceService;
  typing: TypingTracker;
  clientEvents: ClientEvents;
  metrics: RealtimeMetrics;
  logger: Logger;
  lifecycle: Lifecycle;
}

/** Every namespace authenticates its handshake; the default namespace `/` serves nothing and refuses all. */
export function acceptConnections(deps: ConnectionDeps): void {
  const { io, metrics } = deps;
  io.of('/').use((_socket, next) => {
    metrics.socketErrors.inc({ code: 'namespace_not_found' });
    next(new HandshakeError('namespace_not_found', `Connect to one of ${NAMESPACES.join(', ')}`));
  });
  for (const name of NAMESPACES) acceptNamespace(name, deps);
}

function acceptNamespace(name: (typeof NAMESPACES)[number], deps: ConnectionDeps): void {
  const { io, access, presence, typing, metrics, logger, lifecycle } = deps;
  const memberships = new WeakMap<object, string[]>();
  const nsp = io.of(name);
  nsp.use((socket, next) => {
    if (lifecycle.closing)
      return next(new HandshakeError('server_shutting_down', 'Server is restarting; retry'));
    const token = handshakeToken(socket.handshake.auth, socket.handshake.headers);
    authenticateToken(deps.authenticator, token)
      .then(async (actor) => {
        socket.data = { userId: actor.userId, role: actor.role, sessionId: actor.sessionId };
        if (name === '/messaging') memberships.set(socket, await access.conversationIds(actor.userId));
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
    registerMessagingHandlers(socket as MessagingSocket, deps.clientEvents);
    const online = lifecycle.track(presence.connected(userId, socket.id));
    socket.on('disconnect', () => {
      // By now the socket has left its rooms: anyone left in user:{id} is another device here.
      const stillHere = (nsp.adapter.rooms.get(rooms.user(userId))?.size ?? 0) > 0;
      if (!stillHere) typing.stopAll(userId);
      void lifecycle.track(online.then(() => presence.disconnected(userId, socket.id)));
    });
  });
}

export interface PresenceUpkeep {
  presence: PresenceService;
  /** This instance's connections on every transport. */
  connections: () => Array<{ userId: string; connectionId: string }>;
  redis: Redis | undefined;
  presenceTtlMs: number;
  logger: Logger;
}

/**
 * Refreshes this instance's presence entries before they expire (a per-instance timer, by nature), and
 * records again the connections made while Redis was away once it is back. Returns the stop function.
 */
export function keepPresence({
  presence,
  connections,
  redis,
  presenceTtlMs,
  logger,
}: PresenceUpkeep): () => void {
  const heartbeat = setInterval(
    () =>
      void presence
        .heartbeat(connections())
        .catch((err: unknown) => logger.warn({ err }, 'presence heartbeat failed')),
    Math.min(30_000, Math.floor(presenceTtlMs / 3)),
  );
  heartbeat.unref();
  const restore = () =>
    void presence
      .restore(connections())
      .catch((err: unknown) => logger.warn({ err }, 'presence restore failed'));
  redis?.on('ready', restore);
  return () => {
    clearInterval(heartbeat);
    redis?.off('ready', restore);
  };
}
