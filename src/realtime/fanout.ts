// One place that sends server events and moves sockets between rooms, on every instance and transport.
import type { Server } from 'socket.io';
import type { RealtimeMetrics } from './metrics.js';
import {
  type ClientToServerEvents,
  NAMESPACES,
  type ServerEventName,
  type ServerEventPayload,
  type ServerToClientEvents,
  type SocketData,
} from './protocol.js';

export type Io = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** A second transport (the /ws gateway) that mirrors Socket.IO rooms for its own connections. */
export interface RoomTransport {
  emit(rooms: readonly string[], event: string, payload: unknown, except: readonly string[]): void;
  join(fromRooms: readonly string[], toRooms: readonly string[]): void;
  leave(fromRooms: readonly string[], toRooms: readonly string[]): void;
  disconnect(rooms: readonly string[], code: string): void;
}

export class Fanout {
  private transports: RoomTransport[] = [];

  constructor(
    private readonly io: Io,
    private readonly metrics: RealtimeMetrics,
    /**
     * With the Redis adapter, socketsJoin/socketsLeave/disconnectSockets only take effect here once the
     * request comes back from Redis (and never while Redis is down): apply them locally first.
     */
    private readonly multiInstance = false,
  ) {}

  addTransport(transport: RoomTransport): void {
    this.transports.push(transport);
  }

  /** Emits once to the union of rooms (each socket receives it once), serialised once. */
  emit<E extends ServerEventName>(
    target: string | readonly string[],
    event: E,
    payload: ServerEventPayload<E>,
    except: string | readonly string[] = [],
  ): void {
    const to = typeof target === 'string' ? [target] : target;
    const not = typeof except === 'string' ? [except] : except;
    if (to.length === 0) return;
    let op = this.io.of('/messaging').to([...to]);
    if (not.length > 0) op = op.except([...not]);
    // The typed emit needs a tuple; the payload type is checked by this method's signature.
    (op.emit as (ev: string, p: unknown) => boolean)(event, payload);
    this.metrics.emitted.inc({ event });
    for (const t of this.transports) t.emit(to, event, payload, not);
  }

  /** Adds every socket in `from` (e.g. user:{id}) to `to` rooms, adapter-wide. */
  join(from: readonly string[], to: readonly string[]): void {
    if (from.length === 0) return;
    const nsp = this.io.of('/messaging');
    nsp.local.in([...from]).socketsJoin([...to]);
    if (this.multiInstance) nsp.in([...from]).socketsJoin([...to]);
    for (const t of this.transports) t.join(from, to);
  }

  leave(from: readonly string[], to: readonly string[]): void {
    if (from.length === 0) return;
    const nsp = this.io.of('/messaging');
    nsp.local.in([...from]).socketsLeave([...to]);
    if (this.multiInstance) nsp.in([...from]).socketsLeave([...to]);
    for (const t of this.transports) t.leave(from, to);
  }

  /** Tells the sockets in these rooms why, then disconnects them in every namespace and instance. */
  endSessions(target: string, code: 'session_revoked' | 'user_deactivated'): void {
    for (const name of NAMESPACES) {
      const nsp = this.io.of(name);
      nsp.to(target).emit('session_ended', { code });
      nsp.local.in(target).disconnectSockets(true);
      if (this.multiInstance) nsp.in(target).disconnectSockets(true);
    }
    for (const t of this.transports) t.disconnect([target], code);
  }
}
