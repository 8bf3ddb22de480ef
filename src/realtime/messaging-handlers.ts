// Client events of the /messaging namespace: validated, authorised, acknowledged; the work is done by services.
import type { Logger } from 'pino';
import type { Socket } from 'socket.io';
import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { AppError } from '../errors.js';
import type { Actor } from '../identity/actor.js';
import type { Services } from '../modules/services.js';
import type { EventLimiter } from '../platform/socket-rate-limits.js';
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
import type { RealtimeRepository } from './realtime.repository.js';
import type { TypingTracker } from './typing.js';

export type MessagingSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;

/** The messaging services the socket events call (the same ones REST uses). */
export type MessagingServices = Pick<Services, 'messages' | 'receipts' | 'sync'>;

export interface HandlerDeps {
  services: MessagingServices;
  repository: RealtimeRepository;
  typing: TypingTracker;
  presence: PresenceService;
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

const SIZE_KEYWORDS = new Set(['maxLength', 'maxItems', 'maxProperties']);

function validator<T extends TSchema>(schema: T) {
  const compiled = Compile(schema);
  return (payload: unknown): Static<T> => {
    if (compiled.Check(payload)) return payload as Static<T>;
    const first = [...compiled.Errors(payload)][0];
    if (first && SIZE_KEYWORDS.has(first.keyword))
      fail('payload_too_large', `${first.instancePath} is too large`);
    return fail(
      'validation_error',
      first ? `${first.instancePath || 'payload'} ${first.message}` : 'invalid payload',
    );
  };
}

const checks = {
  ref: validator(ConversationRef),
  send: validator(SendMessagePayload),
  watermark: validator(WatermarkPayload),
  sync: validator(SyncPayload),
  presence: validator(PresencePayload),
};

export const CLIENT_EVENTS = new Set<string>([
  'join_conversation',
  'leave_conversation',
  'send_message',
  'typing_start',
  'typing_stop',
  'message_delivered',
  'message_read',
  'sync',
  'presence',
]);

function toAckError(err: unknown, logger: Logger): AckError {
  if (err instanceof AckFailure) return err.error;
  if (err instanceof AppError) {
    return {
      code: err.code,
      message: err.message,
      ...(err.retryAfter ? { retry_after: err.retryAfter } : {}),
    };
  }
  logger.error({ err }, 'socket event failed');
  return { code: 'internal_error', message: 'Something went wrong' };
}

export function registerMessagingHandlers(socket: MessagingSocket, deps: HandlerDeps): void {
  const { userId } = socket.data;
  const actor: Actor = { userId, role: socket.data.role, sessionId: socket.data.sessionId };
  const { services, typing, logger } = deps;

  /** `stored`: a write shutdown must wait for (tracked from the moment the event arrives, ack included). */
  const handle = (event: string, run: (payload: unknown) => Promise<unknown> | unknown, stored = false) => {
    const respond = async (args: unknown[]) => {
      const last = args.at(-1);
      const ack = typeof last === 'function' ? (last as (r: Ack) => void) : () => {};
      const payload = typeof args[0] === 'function' ? undefined : args[0];
      try {
        const data = await run(payload);
        ack({ ok: true, data: data ?? null });
      } catch (err) {
        const error = toAckError(err, logger);
        deps.metrics.socketErrors.inc({ code: error.code });
        ack({ ok: false, error });
      }
    };
    (socket.on as (ev: string, fn: (...args: unknown[]) => void) => void)(event, (...args) => {
      const work = respond(args);
      if (stored) void deps.track(work);
    });
  };

  // Flood guard before any handler: a refused event is answered, never processed.
  socket.use((packet, next) => {
    void deps.eventLimiter.consume(socket.id).then((wait) => {
      if (wait === 0) return next();
      deps.metrics.socketErrors.inc({ code: 'rate_limited' });
      const last = packet.at(-1);
      if (typeof last === 'function') {
        (last as (r: Ack) => void)({
          ok: false,
          error: { code: 'rate_limited', message: 'Too many events; slow down', retry_after: wait },
        });
      }
    });
  });

  const requireRoom = (conversationId: string) => {
    // Room membership follows memberships on every instance, so this needs no query.
    if (!socket.rooms.has(rooms.conversation(conversationId))) fail('not_found', 'Conversation not found');
  };

  handle('join_conversation', async (raw) => {
    const { conversation_id } = checks.ref(raw);
    if (!(await deps.repository.isMember(userId, conversation_id)))
      fail('not_found', 'Conversation not found');
    await socket.join([rooms.conversation(conversation_id), rooms.view(conversation_id)]);
    return { conversation_id };
  });

  handle('leave_conversation', async (raw) => {
    const { conversation_id } = checks.ref(raw);
    await socket.leave(rooms.view(conversation_id));
    return { conversation_id };
  });

  handle('typing_start', (raw) => {
    const { conversation_id } = checks.ref(raw);
    requireRoom(conversation_id);
    const sent = typing.start(userId, conversation_id);
    return { conversation_id, throttled: !sent };
  });

  handle('typing_stop', (raw) => {
    const { conversation_id } = checks.ref(raw);
    requireRoom(conversation_id);
    typing.stop(userId, conversation_id);
    return { conversation_id };
  });

  handle(
    'send_message',
    async (raw) => {
      const { conversation_id, ...input } = checks.send(raw);
      const wait = await deps.sendLimiter.consume(userId);
      if (wait > 0) fail('rate_limited', 'Too many messages; slow down', wait);
      const { reply_to_id, ...rest } = input;
      const result = await services.messages.send(actor, conversation_id, {
        ...rest,
        ...(reply_to_id ? { reply_to_id } : {}),
      });
      typing.stop(userId, conversation_id);
      return result;
    },
    true,
  );

  handle(
    'message_delivered',
    async (raw) => {
      const { conversation_id, seq } = checks.watermark(raw);
      return services.receipts.markDelivered(actor, conversation_id, seq);
    },
    true,
  );

  handle(
    'message_read',
    async (raw) => {
      const { conversation_id, seq } = checks.watermark(raw);
      return services.receipts.markRead(actor, conversation_id, seq);
    },
    true,
  );

  handle('sync', async (raw) => {
    const { cursors, limit } = checks.sync(raw);
    return services.sync.sync(actor, cursors, limit);
  });

  handle('presence', async (raw) => {
    const { user_ids } = checks.presence(raw);
    return deps.presence.query(userId, user_ids);
  });

  socket.onAny((event: string, ...args: unknown[]) => {
    if (CLIENT_EVENTS.has(event)) return;
    deps.metrics.socketErrors.inc({ code: 'unknown_event' });
    const last = args.at(-1);
    if (typeof last === 'function') {
      (last as (r: Ack) => void)({
        ok: false,
        error: { code: 'unknown_event', message: `Unknown event: ${event.slice(0, 64)}` },
      });
    }
  });
}
