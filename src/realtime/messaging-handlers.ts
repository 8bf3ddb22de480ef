// Client events (Socket.IO /messaging and /ws): flood-guarded, validated, authorised, acknowledged; services do the work.
import type { Logger } from 'pino';
import type { Socket } from 'socket.io';
import type { Static, TSchema } from 'typebox';
import { AppError } from '../errors.js';
import { compilePayloadValidator } from '../http/validation.js';
import type { Actor } from '../identity/actor.js';
import type { ViewingStore } from '../modules/notifications/viewing.js';
import type { Services } from '../modules/services.js';
import type { EventLimiter } from '../platform/socket-rate-limits.js';
import { SpanKind, withSpan } from '../platform/tracing.js';
import type { RealtimeMetrics } from './metrics.js';
import type { PresenceService } from './presence.js';
import {
  type Ack,
  type AckError,
  type ClientToServerEvents,
  ConversationRef,
  PresencePayload,
  rooms,
  SendMessagePayload,
  type ServerToClientEvents,
  type SocketData,
  SyncPayload,
  WatermarkPayload,
} from './protocol.js';
import type { TypingTracker } from './typing.js';

export type MessagingSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;

/** The messaging services the socket events call (the same ones REST uses). */
export type MessagingServices = Pick<Services, 'access' | 'messages' | 'receipts' | 'sync'>;

export interface HandlerDeps {
  services: MessagingServices;
  typing: TypingTracker;
  presence: PresenceService;
  /** Who views which conversation (join/leave_conversation): notifications skip viewers. */
  viewing?: ViewingStore;
  sendLimiter: EventLimiter;
  /** Every client event, per socket (in memory: a socket lives on one instance). */
  eventLimiter: EventLimiter;
  metrics: RealtimeMetrics;
  logger: Logger;
  /** Registers work that shutdown must wait for (stored sends). */
  track<T>(work: Promise<T>): Promise<T>;
}

class AckFailure extends Error {
  constructor(readonly error: AckError) {
    super(error.message);
  }
}

const fail = (code: string, message: string, retryAfter?: number): never => {
  throw new AckFailure({ code, message, ...(retryAfter ? { retry_after: retryAfter } : {}) });
};

/** The REST rules for a payload: input rules, then the schema; a refusal is validation_error naming the field. */
function validator<T extends TSchema>(schema: T) {
  const check = compilePayloadValidator<Static<T>>(schema);
  return (payload: unknown): Static<T> => {
    const result = check(payload);
    if (result.ok) return result.value;
    throw new AckFailure({ code: 'validation_error', message: result.message, details: result.details });
  };
}

const checks = {
  ref: validator(ConversationRef),
  send: validator(SendMessagePayload),
  watermark: validator(WatermarkPayload),
  sync: validator(SyncPayload),
  presence: validator(PresencePayload),
};

function toAckError(err: unknown, logger: Logger): AckError {
  if (err instanceof AckFailure) return err.error;
  if (err instanceof AppError) {
    return {
      code: err.code,
      message: err.message,
      ...(err.retryAfter ? { retry_after: err.retryAfter } : {}),
      ...(err.details ? { details: err.details } : {}),
    };
  }
  logger.error({ err }, 'socket event failed');
  return { code: 'internal_error', message: 'Something went wrong' };
}

/** Where a client event came from: a Socket.IO socket or a /ws connection. */
export interface EventScope {
  actor: Actor;
  /** Unique per connection (flood guard key). */
  connectionId: string;
  inRoom(room: string): boolean;
  join(names: string[]): void | Promise<void>;
  leave(name: string): void | Promise<void>;
}

interface Handler {
  run(scope: EventScope, payload: unknown): Promise<unknown> | unknown;
  /** A write shutdown must wait for (tracked from arrival to ack). */
  stored?: boolean;
}

/** Client events for both transports: flood guard, validation, access, one service call, an Ack. */
export class ClientEvents {
  private readonly handlers: Record<string, Handler>;

  constructor(private readonly deps: HandlerDeps) {
    const { services, typing } = deps;
    const requireRoom = (scope: EventScope, conversationId: string) => {
      // Rooms follow memberships on every instance, so this needs no query.
      if (!scope.inRoom(rooms.conversation(conversationId))) fail('not_found', 'Conversation not found');
    };
    this.handlers = {
      join_conversation: {
        async run(scope, raw) {
          const { conversation_id } = checks.ref(raw);
          await services.access.requireMember(scope.actor.userId, conversation_id);
          await scope.join([rooms.conversation(conversation_id), rooms.view(conversation_id)]);
          await deps.viewing
            ?.view(scope.actor.userId, scope.connectionId, conversation_id)
            .catch((err: unknown) => deps.logger.warn({ err }, 'viewing store unavailable'));
          return { conversation_id };
        },
      },
      leave_conversation: {
        async run(scope, raw) {
          const { conversation_id } = checks.ref(raw);
          await scope.leave(rooms.view(conversation_id));
          await deps.viewing
            ?.leave(scope.actor.userId, scope.connectionId, conversation_id)
            .catch((err: unknown) => deps.logger.warn({ err }, 'viewing store unavailable'));
          return { conversation_id };
        },
      },
      typing_start: {
        run(scope, raw) {
          const { conversation_id } = checks.ref(raw);
          requireRoom(scope, conversation_id);
          return { conversation_id, throttled: !typing.start(scope.actor.userId, conversation_id) };
        },
      },
      typing_stop: {
        run(scope, raw) {
          const { conversation_id } = checks.ref(raw);
          requireRoom(scope, conversation_id);
          typing.stop(scope.actor.userId, conversation_id);
          return { conversation_id };
        },
      },
      send_message: {
        stored: true,
        async run(scope, raw) {
          const { conversation_id, reply_to_id, ...input } = checks.send(raw);
          const wait = await deps.sendLimiter.consume(scope.actor.userId);
          if (wait > 0) fail('rate_limited', 'Too many messages; slow down', wait);
          const result = await services.messages.send(scope.actor, conversation_id, {
            ...input,
            ...(reply_to_id ? { reply_to_id } : {}),
          });
          typing.stop(scope.actor.userId, conversation_id);
          return result;
        },
      },
      message_delivered: {
        stored: true,
        run(scope, raw) {
          const { conversation_id, seq } = checks.watermark(raw);
          return services.receipts.markDelivered(scope.actor, conversation_id, seq);
        },
      },
      message_read: {
        stored: true,
        run(scope, raw) {
          const { conversation_id, seq } = checks.watermark(raw);
          return services.receipts.markRead(scope.actor, conversation_id, seq);
        },
      },
      sync: {
        run(scope, raw) {
          const { cursors, limit } = checks.sync(raw);
          return services.sync.sync(scope.actor, cursors, limit);
        },
      },
      presence: {
        run(scope, raw) {
          const { user_ids } = checks.presence(raw);
          return deps.presence.query(scope.actor.userId, user_ids);
        },
      },
    };
  }

  /** Never throws: every outcome is an Ack. */
  dispatch(scope: EventScope, event: string, payload: unknown): Promise<Ack> {
    const handler = Object.hasOwn(this.handlers, event) ? this.handlers[event] : undefined;
    const work = withSpan(
      `socket ${handler ? event : 'unknown'}`,
      { 'tma.socket.event': handler ? event : 'unknown', 'enduser.id': scope.actor.userId },
      () => this.answer(scope, event, handler, payload),
      SpanKind.SERVER,
    );
    if (handler?.stored) void this.deps.track(work);
    return work;
  }

  private async answer(scope: EventScope, event: string, handler: Handler | undefined, payload: unknown) {
    const { metrics, logger } = this.deps;
    // Unknown event names share one label, so a client cannot grow the metric's label set.
    const timer = metrics.clientEvent.startTimer({ event: handler ? event : 'unknown' });
    try {
      // Flood guard first: a refused event is answered, never processed.
      const wait = await this.deps.eventLimiter.consume(scope.connectionId);
      if (wait > 0) fail('rate_limited', 'Too many events; slow down', wait);
      if (!handler) fail('unknown_event', `Unknown event: ${event.slice(0, 64)}`);
      const data = await handler!.run(scope, payload);
      timer({ outcome: 'ok' });
      return { ok: true as const, data: data ?? null };
    } catch (err) {
      const error = toAckError(err, logger);
      metrics.socketErrors.inc({ code: error.code });
      timer({ outcome: 'error' });
      return { ok: false as const, error };
    }
  }
}

/** Wires a /messaging socket to the client events: every incoming event goes through dispatch. */
export function registerMessagingHandlers(socket: MessagingSocket, events: ClientEvents): void {
  const scope: EventScope = {
    actor: { userId: socket.data.userId, role: socket.data.role, sessionId: socket.data.sessionId },
    connectionId: socket.id,
    inRoom: (room) => socket.rooms.has(room),
    join: (names) => socket.join(names),
    leave: (name) => socket.leave(name),
  };
  socket.onAny((event: string, ...args: unknown[]) => {
    const last = args.at(-1);
    const ack = typeof last === 'function' ? (last as (r: Ack) => void) : undefined;
    const payload = typeof args[0] === 'function' ? undefined : args[0];
    void events.dispatch(scope, event, payload).then((result) => ack?.(result));
  });
}
