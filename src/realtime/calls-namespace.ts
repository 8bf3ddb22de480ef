// The /calls namespace (docs/calls.md): client call events (validated, flood-guarded, acked; the calls service
// decides), call domain events sent to every device of the users concerned through the adapter, and the
// liveness of this instance's /calls sockets (connect, disconnect, heartbeat) for the reconnect grace.
import type { Namespace, Socket } from 'socket.io';
import type { Static, TSchema } from 'typebox';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { compilePayloadValidator } from '../http/validation.js';
import type { Actor } from '../identity/actor.js';
import { CallRefPayload, CallSignalPayload, CallStartPayload } from '../modules/calls/calls.schemas.js';
import { createEventLimiter } from '../platform/socket-rate-limits.js';
import type { Io } from './fanout.js';
import type { RealtimeMetrics } from './metrics.js';
import { type Ack, type AckError, rooms, type SocketData } from './protocol.js';

/** Per socket: trickle ICE sends bursts of candidates, so more than the generic 30/s. */
const CALL_EVENTS_PER_SOCKET_PER_SECOND = 100;

class Refusal extends Error {
  constructor(readonly error: AckError) {
    super(error.message);
  }
}

function validator<T extends TSchema>(schema: T) {
  const check = compilePayloadValidator<Static<T>>(schema);
  return (payload: unknown): Static<T> => {
    const result = check(payload);
    if (result.ok) return result.value;
    throw new Refusal({ code: 'validation_error', message: result.message, details: result.details });
  };
}

const checks = {
  start: validator(CallStartPayload),
  ref: validator(CallRefPayload),
  signal: validator(CallSignalPayload),
};

type CallSocket = Socket<Record<string, never>, Record<string, never>, Record<string, never>, SocketData>;
type Handler = (actor: Actor, device: string, payload: unknown) => Promise<unknown>;

export function attachCalls(
  io: Io,
  ctx: AppContext,
  metrics: RealtimeMetrics,
  track: <T>(work: Promise<T>) => Promise<T>,
): () => void {
  const { calls } = ctx.services;
  const { logger } = ctx;
  const nsp = io.of('/calls') as unknown as Namespace;
  const limiter = createEventLimiter({
    name: 'call_events',
    points: CALL_EVENTS_PER_SOCKET_PER_SECOND,
    durationSeconds: 1,
    redis: undefined,
    keyPrefix: ctx.config.redisKeyPrefix,
  });
  const handlers: Record<string, Handler> = {
    call_start: (actor, device, raw) => calls.start(actor, checks.start(raw), device),
    call_accept: (actor, device, raw) => calls.accept(actor, checks.ref(raw).call_id, device).then(wrap),
    call_decline: (actor, device, raw) => calls.decline(actor, checks.ref(raw).call_id, device).then(wrap),
    call_join: (actor, device, raw) =>
      calls.join(actor, checks.ref(raw).call_id, device).then((call) => ({
        call,
        ice_servers: calls.iceServers(actor).ice_servers,
      })),
    call_leave: (actor, device, raw) => calls.leave(actor, checks.ref(raw).call_id, device).then(wrap),
    call_end: (actor, device, raw) => calls.end(actor, checks.ref(raw).call_id, device).then(wrap),
    call_signal: (actor, _device, raw) => calls.signal(actor, checks.signal(raw)),
  };

  const answer = async (socket: CallSocket, event: string, payload: unknown): Promise<Ack> => {
    const handler = Object.hasOwn(handlers, event) ? handlers[event] : undefined;
    const timer = metrics.clientEvent.startTimer({ event: handler ? event : 'unknown' });
    try {
      const wait = await limiter.consume(socket.id);
      if (wait > 0)
        throw new Refusal({ code: 'rate_limited', message: 'Too many events; slow down', retry_after: wait });
      if (!handler)
        throw new Refusal({ code: 'unknown_event', message: `Unknown event: ${event.slice(0, 64)}` });
      const { userId, role, sessionId } = socket.data;
      const data = await handler({ userId, role, sessionId }, socket.id, payload);
      timer({ outcome: 'ok' });
      return { ok: true, data: data ?? null };
    } catch (err) {
      const error = toAckError(err);
      metrics.socketErrors.inc({ code: error.code });
      timer({ outcome: 'error' });
      return { ok: false, error };
    }
  };

  const toAckError = (err: unknown): AckError => {
    if (err instanceof Refusal) return err.error;
    if (err instanceof AppError)
      return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
    logger.error({ err }, 'call event failed');
    return { code: 'internal_error', message: 'Something went wrong' };
  };

  const warn = (what: string) => (err: unknown) => logger.warn({ err }, what);

  nsp.on('connection', (socket: CallSocket) => {
    const { userId } = socket.data;
    void calls.liveness.seen([userId]).catch(warn('call liveness failed'));
    socket.onAny((event: string, ...args: unknown[]) => {
      const last = args.at(-1);
      const ack = typeof last === 'function' ? (last as (r: Ack) => void) : undefined;
      const payload = typeof args[0] === 'function' ? undefined : args[0];
      void track(answer(socket, event, payload)).then((result) => ack?.(result));
    });
    socket.on('disconnect', () => {
      // Another device of the user here keeps them seen (the heartbeat); elsewhere, that instance's does.
      if ((nsp.adapter.rooms.get(rooms.user(userId))?.size ?? 0) > 0) return;
      void track(calls.liveness.disconnected(userId).catch(warn('call disconnect failed')));
    });
  });

  const heartbeat = setInterval(
    () => {
      const users = new Set<string>();
      for (const s of nsp.sockets.values()) users.add((s.data as SocketData).userId);
      if (users.size > 0) void calls.liveness.seen([...users]).catch(warn('call heartbeat failed'));
    },
    Math.max(200, Math.floor(ctx.config.calls.reconnectGraceMs / 3)),
  );
  heartbeat.unref();

  const unsubscribe = [
    ctx.bus.subscribe('call.updated', (e) => {
      const payload = {
        call: e.call,
        user_id: e.actor_id,
        from_user_id: e.call.initiator_id,
        ...(e.reason ? { reason: e.reason } : {}),
      };
      let op = nsp.to(e.user_ids.map(rooms.user));
      if (e.except_device) op = op.except(e.except_device);
      op.emit(e.event, payload);
      metrics.emitted.inc({ event: e.event });
      if (e.answered_elsewhere && e.actor_id) {
        let own = nsp.to(rooms.user(e.actor_id));
        if (e.except_device) own = own.except(e.except_device);
        own.emit('call_answered_elsewhere', { call: e.call, user_id: e.actor_id });
      }
    }),
    ctx.bus.subscribe('call.signal', (e) => {
      nsp
        .to(e.to_device ?? rooms.user(e.to_user_id))
        .emit('call_signal', { call_id: e.call_id, from_user_id: e.from_user_id, signal: e.signal });
      metrics.emitted.inc({ event: 'call_signal' });
    }),
  ];
  const stop = () => {
    clearInterval(heartbeat);
    for (const off of unsubscribe) off();
  };
  ctx.onClose(stop);
  return stop;
}

const wrap = (call: unknown) => ({ call });
