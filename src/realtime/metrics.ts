// Realtime metrics (prom-client): sockets per namespace, events emitted, client event time, send-to-emit latency.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class RealtimeMetrics {
  readonly registry = new Registry();
  readonly emitted: Counter<'event'>;
  readonly sendToEmit: Histogram;
  readonly clientEvent: Histogram<'event' | 'outcome'>;
  readonly socketErrors: Counter<'code'>;
  readonly protocolErrors: Counter<'transport' | 'code'>;

  constructor(countSockets: () => Record<string, number>) {
    new Gauge({
      name: 'tma_realtime_connected_sockets',
      help: 'Sockets connected to this instance, per namespace (/ws for the plain WebSocket gateway)',
      labelNames: ['namespace'],
      registers: [this.registry],
      collect() {
        for (const [namespace, count] of Object.entries(countSockets())) this.set({ namespace }, count);
      },
    });
    this.emitted = new Counter({
      name: 'tma_realtime_events_emitted_total',
      help: 'Server events emitted (one per room broadcast, not per recipient)',
      labelNames: ['event'],
      registers: [this.registry],
    });
    this.sendToEmit = new Histogram({
      name: 'tma_realtime_send_to_emit_seconds',
      help: 'From the message being stored (its created_at) to its new_message broadcast',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [this.registry],
    });
    this.clientEvent = new Histogram({
      name: 'tma_realtime_client_event_seconds',
      help: 'From a client event arriving to its ack being ready (flood guard, validation, the service call)',
      labelNames: ['event', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.socketErrors = new Counter({
      name: 'tma_realtime_refusals_total',
      help: 'Client events and handshakes refused, by error code',
      labelNames: ['code'],
      registers: [this.registry],
    });
    this.protocolErrors = new Counter({
      name: 'tma_realtime_protocol_errors_total',
      help: 'Connections closed for a WebSocket protocol error (oversized, invalid UTF-8, bad opcode, unmasked)',
      labelNames: ['transport', 'code'],
      registers: [this.registry],
    });
  }
}
